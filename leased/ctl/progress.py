"""A progress line on a terminal, nothing in a pipe.

Long transfers (``leasectl export``, ``leasectl import``) report how far
they have come on one line of the terminal, redrawn in place (a carriage
return, no newline) at most ten times a second and finished with a
newline.  When the stream is not a terminal (a pipe, a file, a cron job's
mail) nothing at all is written, so scripts see only what they asked for.

With a known total the line is a bar with a percentage and the time left;
without one (an export: the daemon does not say how many leases it has
before they are all read) it counts what is done and how fast.
"""

from __future__ import annotations

import os
import time
from typing import Final, TextIO

__all__ = ["Progress"]

BAR_WIDTH: Final = 30
REDRAW_EVERY: Final = 0.1


def _count(number: int) -> str:
    return f"{number:,}"


class Progress:
    """One progress line on ``stream`` when it is a terminal.

    Args:
        stream: Where to draw (stderr, normally).
        label: What is being done, at the start of the line.
        total: The position at which the work is done, if known.
        unit: What ``count`` counts, e.g. ``leases``.
        enabled: Draw or not; by default, whether ``stream`` is a terminal.
    """

    def __init__(
        self,
        stream: TextIO,
        label: str,
        *,
        total: int | None = None,
        unit: str = "leases",
        enabled: bool | None = None,
    ) -> None:
        self.stream = stream
        self.label = label
        self.total = total
        self.unit = unit
        self.enabled = _is_terminal(stream) if enabled is None else enabled
        self.started = time.monotonic()
        self.position = 0
        self.count = 0
        self._drawn = 0.0
        self._width = 0

    def update(self, *, position: int | None = None, count: int = 0) -> None:
        """Advance: ``count`` more items done; ``position`` towards total.

        Without ``position``, the position is the count.
        """
        self.count += count
        self.position = self.count if position is None else position
        now = time.monotonic()
        if self.enabled and now - self._drawn >= REDRAW_EVERY:
            self._draw(now)

    def finish(self) -> None:
        """Draw the final state and end the line."""
        if not self.enabled:
            return
        if self.total is not None:
            self.position = self.total
        self._draw(time.monotonic())
        self.stream.write("\n")
        self.stream.flush()

    def line(self, now: float) -> str:
        """The progress line as it would be drawn at ``now``."""
        elapsed = max(now - self.started, 1e-9)
        rate = self.count / elapsed
        speed = f"{_count(int(rate))}/s"
        done = f"{_count(self.count)} {self.unit}"
        if not self.total:
            return f"{self.label}: {done}, {speed}, {elapsed:.1f} s"
        share = min(self.position / self.total, 1.0)
        filled = int(share * BAR_WIDTH)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        left = elapsed * (1 - share) / share if share > 0 else 0.0
        return f"{self.label}: [{bar}] {share:4.0%} {done}, {speed}, {left:.0f} s left"

    def _draw(self, now: float) -> None:
        self._drawn = now
        text = self.line(now)
        # Blank out what a longer earlier line left behind.
        padding = " " * max(self._width - len(text), 0)
        self._width = len(text)
        self.stream.write(f"\r{text}{padding}")
        self.stream.flush()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return os.isatty(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False
