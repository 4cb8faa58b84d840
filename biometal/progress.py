"""Progress of long work (downloads, mapping, pileup, indexing, training), for log files.

:class:`Progress` counts an amount of work (reads, bytes, bp, steps ...) and logs a line
through :mod:`logging` at most every ``every_s`` seconds, plus one line when the work is
done: the amount done, the total and percent when known, the rate, and the ETA when the
total is known. Amounts are humanised (``bytes`` -> kB/MB/GB, ``bp`` -> kb/Mb/Gb, large
counts -> k/M/G). Call :meth:`Progress.update` once per chunk (or block, step, epoch), not
per read: each call costs one clock read.

The interval: ``every_s`` when given, else the environment variable
``BIOMETAL_PROGRESS_SECONDS`` (read when a :class:`Progress` starts; ``0`` logs every
update, as tests do), else :data:`EVERY_S`. Standard library only.

Example::

    progress = Progress(log, f"quantify {sample}", unit="reads")
    for chunk in chunks:
        ...
        progress.update(len(chunk))
    progress.done()
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable

#: default seconds between two progress lines (see the module docstring).
EVERY_S = 30.0
#: environment variable that overrides :data:`EVERY_S`.
ENV_VAR = "BIOMETAL_PROGRESS_SECONDS"

_DECIMAL = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
_SIZE_UNITS = {"bytes": "B", "bp": "b"}  # unit -> symbol that takes an SI prefix


def interval(every_s: float | None = None) -> float:
    """Seconds between progress lines: ``every_s``, else ``$BIOMETAL_PROGRESS_SECONDS``, else
    :data:`EVERY_S` (an unreadable or negative value of the variable is ignored)."""
    if every_s is not None:
        return max(0.0, float(every_s))
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        try:
            value = float(env)
        except ValueError:
            value = -1.0
        if value >= 0 and math.isfinite(value):
            return value
    return EVERY_S


def _short(v: float) -> str:
    """Three significant digits or so, never exponent notation (``v`` below 1000)."""
    return f"{v:.2f}" if abs(v) < 10 else f"{v:.1f}" if abs(v) < 100 else f"{v:.0f}"


def format_amount(n: float, unit: str) -> str:
    """``n`` of ``unit`` for a reader: ``1.23 GB``, ``4.50 Mb``, ``12,345 reads``,
    ``32.1 M reads``, ``12.5 steps``."""
    symbol = _SIZE_UNITS.get(unit)
    if symbol is not None:
        for scale, prefix in _DECIMAL:
            if abs(n) >= scale:
                return f"{_short(n / scale)} {prefix}{symbol}"
        return f"{n:.0f} {symbol}"
    if abs(n) >= 1e7:
        for scale, prefix in _DECIMAL:
            if abs(n) >= scale:
                return f"{_short(n / scale)} {prefix} {unit}".rstrip()
    if float(n).is_integer() or abs(n) >= 100:
        return f"{round(n):,} {unit}".rstrip()
    return f"{n:.1f} {unit}".rstrip()


def format_seconds(s: float) -> str:
    """A duration for a reader: ``42 s``, ``3 min 05 s``, ``2 h 07 min``, ``3 d 04 h``."""
    if not math.isfinite(s):
        return "?"
    s = max(0.0, s)
    if s < 60:
        return f"{s:.1f} s" if s < 10 else f"{s:.0f} s"
    m, sec = divmod(int(round(s)), 60)
    if m < 60:
        return f"{m} min {sec:02d} s"
    h, m = divmod(m, 60)
    if h < 48:
        return f"{h} h {m:02d} min"
    d, h = divmod(h, 24)
    return f"{d} d {h:02d} h"


class Progress:
    """Log progress of one piece of work (see the module docstring).

    ``logger``: where the lines go (level ``level``, INFO by default). ``what``: the work, at
    the start of every line (``"download x.fastq.gz"``). ``total``: the whole amount, when
    known (percent and ETA); it may be set or changed later (:attr:`total`). ``unit``: what is
    counted; ``"bytes"`` and ``"bp"`` get SI prefixes. ``every_s``: see :func:`interval`.
    ``clock``: seconds, monotonic (tests may pass their own).
    """

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        total: float | None = None,
        unit: str = "reads",
        every_s: float | None = None,
        *,
        level: int = logging.INFO,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.what = what
        self.total = total
        self.unit = unit
        self.every_s = interval(every_s)
        self.level = level
        self._clock = clock
        self.start = clock()
        self.n: float = 0
        self.lines = 0  # progress lines logged (not counting the final one)
        self._next = self.start + self.every_s
        self._finished = False

    # ------------------------------------------------------------------ counting

    def update(self, n: float = 1, note: str = "") -> None:
        """Add ``n`` to the amount done; log a line if ``every_s`` has passed since the last.
        ``note`` (e.g. the stage just finished) is appended to that line."""
        self.n += n
        now = self._clock()
        if now >= self._next:
            self._log(now, note)

    def set(self, done: float, note: str = "") -> None:
        """Set the amount done (for work measured as a position, e.g. bytes or bp so far)."""
        self.n = done
        now = self._clock()
        if now >= self._next:
            self._log(now, note)

    def done(self, note: str = "") -> None:
        """Log the final line (amount, time, mean rate); later calls do nothing."""
        if self._finished:
            return
        self._finished = True
        elapsed = self._clock() - self.start
        total = self.total if self.total is not None and self.n != self.total else None
        amount = self._of(total)
        rate = self._rate(elapsed)
        tail = f", {rate}" if rate else ""
        extra = f"; {note}" if note else ""
        self.logger.log(
            self.level,
            "%s: done, %s in %s%s%s",
            self.what,
            amount,
            format_seconds(elapsed),
            tail,
            extra,
        )

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.done()

    # ------------------------------------------------------------------ formatting

    def _of(self, total: float | None) -> str:
        """``450 MB of 3.40 GB``, ``300 of 1,000 reads``, or the amount alone."""
        if total is None or total <= 0:
            return format_amount(self.n, self.unit)
        whole = format_amount(total, self.unit)
        done = format_amount(self.n, self.unit)
        if self.unit not in _SIZE_UNITS and self.unit and done.endswith(" " + self.unit):
            done = done[: -len(self.unit) - 1]
        return f"{done} of {whole}"

    def _rate(self, elapsed: float) -> str:
        if elapsed <= 0 or self.n <= 0:
            return ""
        return f"{format_amount(self.n / elapsed, self.unit)}/s"

    def message(self, now: float | None = None, note: str = "") -> str:
        """The progress line for the current state (without logging it)."""
        now = self._clock() if now is None else now
        elapsed = now - self.start
        total = self.total
        parts = [self._of(total)]
        if total is not None and total > 0:
            parts[0] += f" ({100.0 * self.n / total:.1f}%)"
        rate = self._rate(elapsed)
        if rate:
            parts.append(rate)
        parts.append(f"{format_seconds(elapsed)} elapsed")
        if total is not None and total > 0:
            if self.n >= total:
                parts.append("ETA 0 s")
            elif self.n > 0 and elapsed > 0:
                parts.append(f"ETA {format_seconds((total - self.n) * elapsed / self.n)}")
            else:
                parts.append("ETA ?")
        text = f"{self.what}: {', '.join(parts)}"
        return f"{text}; {note}" if note else text

    def _log(self, now: float, note: str = "") -> None:
        self.logger.log(self.level, "%s", self.message(now, note))
        self.lines += 1
        self._next = now + self.every_s
