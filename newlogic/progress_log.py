"""Progress of a long step: a tqdm bar on a terminal, else a line at most every 30 s (training, attacks).

Under Snakemake and Slurm stderr is a log file, where a bar is noise and nothing is
progress. ``progress_bar`` then returns ``ProgressLines``, which takes the same calls as the
bar (``update``, ``set_description``, ``write``) and writes, at most every
``$NEWLOGIC_PROGRESS_SECONDS`` (default 30) seconds, one line such as
``epoch 3: batch 1200/4690 (25.6%), 812 img/s, ETA 0:05:12``: the rate is items (images) per
second since this process started, ETA = remaining units / units per second.
"""

import os
import sys
import time
from datetime import timedelta
from typing import Any, TextIO, TypeAlias

from tqdm import tqdm

from newlogic.numbers import seconds_from_env

PROGRESS_SECONDS_ENV = "NEWLOGIC_PROGRESS_SECONDS"
DEFAULT_PROGRESS_SECONDS = 30.0
MIN_PROGRESS_SECONDS = 0.001  # a line per millisecond at most (the tests' fastest)
MAX_PROGRESS_SECONDS = 86_400.0  # a day: a longer interval would hide a whole job's progress


def progress_interval() -> float:
    """Seconds between progress lines: ``$NEWLOGIC_PROGRESS_SECONDS`` or 30.

    A finite ASCII decimal in ``[MIN_PROGRESS_SECONDS, MAX_PROGRESS_SECONDS]``, else one UserError
    (``newlogic.numbers.seconds_from_env``): ``inf`` would silence the log, ``nan`` never compares.
    """
    return seconds_from_env(os.environ, PROGRESS_SECONDS_ENV, DEFAULT_PROGRESS_SECONDS,
                            MIN_PROGRESS_SECONDS, MAX_PROGRESS_SECONDS)


class ProgressLines:
    """tqdm's ``update`` / ``set_description`` / ``write`` as a timed line on ``stream`` (see the module)."""

    def __init__(
        self, total: int, *, initial: int = 0, unit: str = "batch", items_per_unit: int = 1, item: str = "img",
        desc: str = "", stream: TextIO = sys.stderr, interval: float | None = None,
    ) -> None:
        self.total, self.n, self.unit, self.items_per_unit, self.item = total, initial, unit, items_per_unit, item
        self.desc, self.stream = desc, stream
        self.interval = progress_interval() if interval is None else interval
        self.started = self.last = time.monotonic()
        self.initial = initial

    def __enter__(self) -> "ProgressLines":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def set_description(self, desc: str) -> None:
        self.desc = desc

    def write(self, text: str, file: TextIO | None = None) -> None:
        print(text, file=self.stream if file is None else file, flush=True)

    def update(self, count: int = 1) -> None:
        """Advance by ``count`` units; write a line when ``interval`` seconds passed since the last."""
        self.n += count
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            print(self.line(now - self.started), file=self.stream, flush=True)

    def line(self, elapsed: float) -> str:
        """``{desc}: {unit} n/total (p%), {rate} {item}/s, ETA h:mm:ss`` after ``elapsed`` seconds."""
        per_second = (self.n - self.initial) / elapsed if elapsed > 0 else 0.0
        eta = timedelta(seconds=round((self.total - self.n) / per_second)) if per_second > 0 else "?"
        percent = 100 * self.n / self.total if self.total else 100.0
        prefix = f"{self.desc}: " if self.desc else ""
        return (
            f"{prefix}{self.unit} {self.n}/{self.total} ({percent:.1f}%), "
            f"{per_second * self.items_per_unit:.0f} {self.item}/s, ETA {eta}"
        )


ProgressBar: TypeAlias = tqdm | ProgressLines  # what progress_bar returns


def progress_bar(total: int, **options: Any) -> ProgressBar:
    """A tqdm bar when stderr is a terminal, else ``ProgressLines`` (same options: ``initial``, ``unit``, …).

    ``items_per_unit`` and ``item`` only matter for the lines (e.g. a batch of 64 images).
    """
    if sys.stderr.isatty():
        bar_options = {k: v for k, v in options.items() if k not in ("items_per_unit", "item", "interval", "stream")}
        return tqdm(total=total, file=sys.stderr, **bar_options)
    return ProgressLines(total, **options)
