"""The report's "Findings": per (dataset, model), one row per (sweep, method) and one
sentence per sweep, every word that carries a number built from the tables."""

from __future__ import annotations

import html
from collections.abc import Mapping

import numpy as np
import pandas as pd

from salsweep.condition import CLEAN
from salsweep.failure import median_flip_level, strength
from salsweep.io import FINDING_COLUMNS, FLOOR_PREFIX

FLOOR = "random_logit"
PREFERRED_TARGET = "pred"  # flips are about the predicted class
NOTE_SEPARATOR = " | "  # between notes of different sources (a failure note holds "; ")


def _mean(summary: pd.DataFrame, **where) -> float:
    rows = summary
    for column, value in where.items():
        rows = (
            rows[rows[column] == value]
            if not isinstance(value, float)
            else rows[np.isclose(rows[column].to_numpy(dtype=np.float64), value)]
        )
    return float(rows["mean"].iloc[0]) if len(rows) else np.nan


def distance_from_identical(value: float, higher_is_better: bool) -> float:
    """How far a drift value is from that of an unchanged map: 1 - value for a similarity
    (xcorr, spearman, topk_iou: 1 when identical), the value itself for a distance."""
    return 1.0 - value if higher_is_better else value


def findings_table(
    summary: pd.DataFrame,
    flips: pd.DataFrame,
    failure: pd.DataFrame,
    drift_metrics: Mapping[str, bool],
    identity_levels: Mapping[str, float | None],
) -> pd.DataFrame:
    """One row per (dataset, model, sweep, method) of ``failure`` in ``FINDING_COLUMNS``."""
    accuracy = summary[summary["metric"] == "accuracy"]
    flipped = failure[failure["outcome"] == "flipped"]
    rows = []
    for (dataset, model, sweep, method), group in flipped.groupby(
        ["dataset", "model", "perturbation", "method"], sort=True
    ):
        targets = sorted(group["target"].unique())
        target = PREFERRED_TARGET if PREFERRED_TARGET in targets else targets[0]
        group = group[group["target"] == target]
        pair = dict(dataset=dataset, model=model)
        sweep_accuracy = accuracy[
            (accuracy["dataset"] == dataset)
            & (accuracy["model"] == model)
            & (accuracy["perturbation"] == sweep)
        ]
        notes = []
        if len(sweep_accuracy):
            by_strength = strength(sweep_accuracy["level"], identity_levels.get(sweep))
            strongest_row = sweep_accuracy.iloc[int(np.argmax(by_strength))]
            strongest, accuracy_strongest = float(strongest_row["level"]), strongest_row["mean"]
        else:
            strongest, accuracy_strongest = np.nan, np.nan
            notes.append(f"no accuracy rows for {sweep} in summary.csv")
        sweep_flips = flips[
            (flips["dataset"] == dataset)
            & (flips["model"] == model)
            & (flips["perturbation"] == sweep)
        ]
        scored = group[np.isfinite(group["auroc"].to_numpy(dtype=np.float64))]
        best = scored.loc[scored["auroc"].idxmax()] if len(scored) else group.iloc[0]
        if not len(scored):
            notes.append(str(best["note"]))
        metric = best["metric"]
        higher = drift_metrics.get(metric, False)
        drift = _mean(
            summary, **pair, perturbation=sweep, level=strongest, method=method, target=target,
            metric=metric,
        )  # fmt: skip
        floor = _mean(
            summary, **pair, perturbation=f"{FLOOR_PREFIX}{FLOOR}", method=method, target=target,
            metric=metric,
        )  # fmt: skip
        if np.isnan(floor):
            notes.append(f"no {FLOOR} floor for {metric} in summary.csv")
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = distance_from_identical(drift, higher) / distance_from_identical(floor, higher)
        rows.append(
            {
                **pair,
                "perturbation": sweep,
                "method": method,
                "target": target,
                "accuracy_clean": _mean(accuracy, **pair, perturbation=CLEAN),
                "accuracy_strongest": accuracy_strongest,
                "strongest_level": strongest,
                "median_flip_level": median_flip_level(sweep_flips, identity_levels.get(sweep)),
                "metric": metric,
                "drift_vs_floor": float(ratio) if np.isfinite(ratio) else np.nan,
                "auroc": best["auroc"],
                "confidence_drop_auroc": best["confidence_drop_auroc"],
                "difference": best["difference"],
                "difference_low": best["difference_low"],
                "difference_high": best["difference_high"],
                "note": NOTE_SEPARATOR.join(n for n in notes if n),
            }
        )
    table = pd.DataFrame(rows, columns=FINDING_COLUMNS)
    return table


def _verdict(row: pd.Series) -> str:
    if not np.isfinite(row["difference"]):
        reason = str(row["note"]).split(NOTE_SEPARATOR)[0]
        return f"{row['method']} drift cannot be scored as a flip predictor ({reason})"
    low, high = row["difference_low"], row["difference_high"]
    if low > 0:
        how = "better than"
    elif high < 0:
        how = "worse than"
    else:
        how = "no better than"
    return (
        f"{row['method']} drift ({row['metric']}) predicts flips {how} the confidence drop "
        f"(AUROC {row['auroc']:.2f} vs {row['confidence_drop_auroc']:.2f}, difference "
        f"{row['difference']:.2f}, 95% CI {low:.2f}..{high:.2f})"
    )


def sweep_sentence(rows: pd.DataFrame) -> str:
    """One sentence on one sweep of one (dataset, model): its accuracy, median flip level
    and each method's verdict, all from ``rows`` (the sweep's rows of findings_table)."""
    first = rows.iloc[0]
    sweep = first["perturbation"]
    if np.isfinite(first["accuracy_strongest"]):
        accuracy = (
            f"accuracy goes from {first['accuracy_clean']:.2f} clean to "
            f"{first['accuracy_strongest']:.2f} at level {first['strongest_level']:g}"
        )
    else:
        accuracy = f"accuracy is {first['accuracy_clean']:.2f} clean"
    if np.isfinite(first["median_flip_level"]):
        half = f"half the predictions have flipped by level {first['median_flip_level']:g}"
    else:
        half = "fewer than half the predictions ever flip"
    verdicts = "; ".join(_verdict(row) for _, row in rows.iterrows())
    return f"Under {sweep}, {accuracy} and {half}; {verdicts}."


def sentences(table: pd.DataFrame) -> dict[tuple[str, str], list[str]]:
    """Per (dataset, model), one sentence per sweep."""
    out: dict[tuple[str, str], list[str]] = {}
    for (dataset, model, _), rows in table.groupby(["dataset", "model", "perturbation"], sort=True):
        out.setdefault((dataset, model), []).append(sweep_sentence(rows))
    return out


def _cell(value, kind: str = "number") -> str:
    if isinstance(value, str):
        return html.escape(value)
    if value is None or not np.isfinite(value):
        return "not reached" if kind == "median" else "n/a"
    return f"{value:g}" if kind in ("level", "median") else f"{value:.2f}"


HEADERS = [
    ("perturbation", "sweep", "text"),
    ("method", "method", "text"),
    ("accuracy_clean", "accuracy clean", "number"),
    ("accuracy_strongest", "accuracy at strongest", "number"),
    ("strongest_level", "strongest level", "level"),
    ("median_flip_level", "median flip level", "median"),
    ("metric", "most predictive drift metric", "text"),
    ("drift_vs_floor", f"drift / {FLOOR} floor", "number"),
    ("auroc", "AUROC flipped (drift)", "number"),
    ("confidence_drop_auroc", "AUROC flipped (confidence drop)", "number"),
    ("difference", "difference", "number"),
]


def findings_html(table: pd.DataFrame, title: str = "Findings") -> str:
    """A standalone HTML page: per (dataset, model) a table and its sentences."""
    parts = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:70em}table{border-collapse:collapse}"
        "td,th{border:1px solid #bbb;padding:2px 6px;text-align:right}"
        "td:nth-child(-n+2),th{text-align:left}</style>",
        "</head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    said = sentences(table)
    for (dataset, model), rows in table.groupby(["dataset", "model"], sort=True):
        parts.append(f"<h2>{html.escape(model)} on {html.escape(dataset)}</h2>")
        parts.append("<table><tr>" + "".join(f"<th>{h}</th>" for _, h, _ in HEADERS) + "</tr>")
        for _, row in rows.iterrows():
            cells = []
            for column, _, kind in HEADERS:
                if column == "difference":
                    text = _cell(row["difference"])
                    if np.isfinite(row["difference"]):
                        text += (
                            f" ({_cell(row['difference_low'])}..{_cell(row['difference_high'])})"
                        )
                else:
                    text = _cell(row[column], kind)
                cells.append(f"<td>{text}</td>")
            parts.append("<tr>" + "".join(cells) + "</tr>")
        parts.append("</table>")
        parts.extend(f"<p>{html.escape(s)}</p>" for s in said[(dataset, model)])
    if table.empty:
        parts.append("<p>No failure rows: the study has no drift metric or no sweep.</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
