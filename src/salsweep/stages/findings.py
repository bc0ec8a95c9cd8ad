"""The report's "Findings" page (HTML) and its table (CSV), from the tables alone."""

from __future__ import annotations

import logging

from salsweep.findings import findings_html, findings_table
from salsweep.io import atomic_path, read_summary, read_table

log = logging.getLogger(__name__)


def write_findings(
    summary_path: str,
    flip_levels_path: str,
    failure_path: str,
    html_path: str,
    csv_path: str,
    *,
    drift_metrics: dict[str, bool],
    identity_levels: dict,
) -> None:
    table = findings_table(
        read_summary(summary_path),
        read_table(flip_levels_path),
        read_table(failure_path),
        drift_metrics,
        identity_levels,
    )
    with atomic_path(csv_path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.10g")
    with atomic_path(html_path) as tmp:
        tmp.write_text(findings_html(table))
    log.info("%d findings rows", len(table))
