"""What every workflow script does: route logging to the rule's log, then call one function."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import Any

# Libraries' own bar switches (transformers uses the hub's), read when each is imported.
LIBRARY_BAR_SWITCHES = ("HF_HUB_DISABLE_PROGRESS_BARS", "HF_DATASETS_DISABLE_PROGRESS_BARS")


def quiet_library_bars() -> None:
    """Turn off the libraries' own tqdm bars in a job whose stderr is its log: they redraw
    with carriage returns, and time start-up work (transformers' "Loading weights"); the
    model jobs log their own progress (salsweep.progress). A switch the user set stands."""
    for name in LIBRARY_BAR_SWITCHES:
        os.environ.setdefault(name, "1")
    # A library imported already read its switch at import; tell it directly.
    if os.environ[LIBRARY_BAR_SWITCHES[0]] == "1":
        hub_utils = sys.modules.get("huggingface_hub.utils")
        if hub_utils is not None:
            hub_utils.disable_progress_bars()
        transformers_logging = sys.modules.get("transformers.utils.logging")
        if transformers_logging is not None:
            transformers_logging.disable_progress_bar()
    datasets = sys.modules.get("datasets")
    if datasets is not None and os.environ[LIBRARY_BAR_SWITCHES[1]] == "1":
        datasets.disable_progress_bars()


def run_script(snakemake: Any, function: Callable[..., Any], **kwargs: Any) -> Any:
    """Call ``function(**kwargs)`` with logging, warnings and stderr going to ``log[0]``."""
    log_path = snakemake.log[0] if len(snakemake.log) else None
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    stream = None
    if log_path:
        stream = open(log_path, "w")  # noqa: SIM115 - closed below
        sys.stderr = stream
        quiet_library_bars()  # a log gets the job's own progress lines only
        handlers = [logging.StreamHandler(stream)]
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.captureWarnings(True)
    try:
        result = function(**kwargs)
    except Exception:
        logging.getLogger("salsweep").exception("rule %s failed", snakemake.rule)
        raise
    finally:
        if stream is not None:
            stream.flush()
    if is_job_process(snakemake):
        exit_without_teardown()
    return result


def is_job_process(snakemake: Any) -> bool:
    """Whether this process is a Snakemake job's (its script's ``snakemake`` object), not a
    test calling :func:`run_script`."""
    # What Snakemake's script preamble unpickles; it imports this module, not snakemake.script.
    containers = sys.modules.get("snakemake.iocontainers")
    return containers is not None and isinstance(snakemake, containers.Snakemake)


def exit_without_teardown() -> None:
    """End a finished job process at once. The interpreter's teardown costs about 0.5 s once
    torch is imported (measured: ``python -c "import torch"`` takes 0.5 s after its last
    line) and 0.1 s with pandas and pyarrow, which a job of a few seconds would pay as
    start-up (bench/overhead.py). Every output is written (each through a closed file,
    renamed into place) by now; the logs are flushed and closed here."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def level_input(snakemake: Any, name: str, level: str) -> str | None:
    """The file of ``level`` in the sweep folder (maps or probs) that is the job's input
    ``name``; None when the job has no such input."""
    from salsweep.io import level_tensors

    folder = snakemake.input.get(name)
    return level_tensors(folder, level) if folder else None
