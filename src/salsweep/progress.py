"""Progress of a model job in its log: tqdm's counts, rate and ETA as plain log records.

A job's stderr is its log file, but tqdm's own output (a carriage return before each redraw)
would pile every redraw onto one line there. Here tqdm writes to :class:`LogLines`, which
hands each redraw to ``logging`` as one timestamped record, at most one per
``mininterval`` seconds, plus a first line (0 done) and a last one (all done, overall rate).
"""

from __future__ import annotations

import logging

from tqdm import tqdm

# Seconds between progress lines: a log stays short even on a shard that runs for hours.
MININTERVAL = 10.0
# No bar: a log line needs the counts, the rate and the time left, not a drawing.
BAR_FORMAT = (
    "{desc}: {n_fmt}/{total_fmt} {unit} ({percentage:.0f}%), {rate_fmt}, "
    "elapsed {elapsed}, ETA {remaining}"
)


class LogLines:
    """A write-only text file for tqdm: every non-blank line it writes becomes a log record."""

    def __init__(self, logger: logging.Logger, level: int = logging.INFO) -> None:
        self.logger = logger
        self.level = level

    def write(self, text: str) -> int:
        # tqdm writes "\r<line><padding>" per redraw and "\n" on close.
        for line in text.replace("\r", "\n").split("\n"):
            line = line.strip()
            if line:
                self.logger.log(self.level, "%s", line)
        return len(text)

    def flush(self) -> None:
        pass


class LogProgress(tqdm):
    """tqdm without its monitor thread: a redraw happens only on ``update``, so a job's
    lines come from its own thread, ``mininterval`` apart."""

    monitor_interval = 0

    def close(self) -> None:
        if not self.disable and self.last_print_n == self.n:
            self.leave = False  # the last line shows the final count already: no repeat
        super().close()


def progress(
    total: int,
    desc: str,
    logger: logging.Logger,
    *,
    unit: str = "img",
    mininterval: float = MININTERVAL,
) -> tqdm:
    """A progress counter over ``total`` items, logged to ``logger``. Use it as a context
    manager (the last line is written on exit) and call ``update(n)`` as items finish."""
    return LogProgress(
        total=total,
        desc=desc,
        unit=unit,
        file=LogLines(logger),
        mininterval=mininterval,
        miniters=1,  # check the clock on every update; no adaptive skipping
        bar_format=BAR_FORMAT,
        ascii=True,
        dynamic_ncols=False,
        leave=True,
        # tqdm would disable itself on a non-terminal file; nothing to count: no lines
        disable=total == 0,
    )
