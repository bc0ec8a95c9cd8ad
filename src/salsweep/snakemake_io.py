"""What every workflow script does: route logging to the rule's log, then call one function."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any


def run_script(snakemake: Any, function: Callable[..., Any], **kwargs: Any) -> Any:
    """Call ``function(**kwargs)`` with logging, warnings and stderr going to ``log[0]``."""
    log_path = snakemake.log[0] if len(snakemake.log) else None
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    stream = None
    if log_path:
        stream = open(log_path, "w")  # noqa: SIM115 - closed below
        sys.stderr = stream
        handlers = [logging.StreamHandler(stream)]
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.captureWarnings(True)
    try:
        return function(**kwargs)
    except Exception:
        logging.getLogger("salsweep").exception("rule %s failed", snakemake.rule)
        raise
    finally:
        if stream is not None:
            stream.flush()
