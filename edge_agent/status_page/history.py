"""A tag's last minutes for the page's plots, from the history store, thinned to what a plot can show."""

from __future__ import annotations

from collections.abc import Sequence

from ..tags import Reading
from .model import plotted

WINDOW_S = 600
"""How far back a plot reaches: the last 10 minutes."""
MAX_POINTS = 600
"""A plot a few hundred pixels wide shows no more; one point a second over the window."""


def plot_points(readings: Sequence[Reading], *, start_ns: int, end_ns: int) -> list[list[object]]:
    """``[time_ms, value, severity]`` of each plotted point: numbers and booleans (as 0/1), Bad as a gap.

    More readings than MAX_POINTS are thinned to the last of each of MAX_POINTS equal time slices (a
    plot of a value changing at 10 Hz over 10 minutes would otherwise carry 6,000 points to a phone).
    """
    width = max(end_ns - start_ns, 1)
    kept: dict[int, Reading] = {}
    for reading in readings:
        kept[min((reading.source_time_ns - start_ns) * MAX_POINTS // width, MAX_POINTS - 1)] = reading
    return [_point(reading) for _, reading in sorted(kept.items())]


def _point(reading: Reading) -> list[object]:
    number = plotted(reading)
    severity = "good" if reading.quality.is_good else ("bad" if reading.quality.is_bad else "uncertain")
    return [reading.source_time_ns // 1_000_000, number, severity]
