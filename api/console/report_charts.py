"""Bar charts for the report pages, laid out here and drawn by the templates as inline SVG: no
script, so they print, export to PDF and read the same in every browser."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Bar", "BarChart", "bar_chart"]


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int
    category: str
    value: int


@dataclass(frozen=True, slots=True)
class BarChart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    x_labels: tuple[tuple[float, str], ...]
    y_ticks: tuple[tuple[float, int], ...]
    series: tuple[str, ...]
    plot_left: float
    plot_bottom: float
    total: int


_LEFT, _RIGHT, _TOP, _BOTTOM = 56.0, 8.0, 10.0, 26.0


def bar_chart(
    categories: Sequence[str], series: Mapping[str, Sequence[int]], *, width: int = 720, height: int = 220,
    label_every: int = 1,
) -> BarChart:  # fmt: skip
    """Grouped bars: one group per category, one bar per series in it; y from 0 to a round maximum."""
    names = tuple(series)
    peak = max((v for values in series.values() for v in values), default=0)
    top = _round_up(peak)
    plot_w = width - _LEFT - _RIGHT
    plot_h = height - _TOP - _BOTTOM
    slot = plot_w / max(1, len(categories))
    bar_w = slot * 0.8 / max(1, len(names))
    bars = []
    for i, category in enumerate(categories):
        for s, name in enumerate(names):
            value = int(series[name][i])
            h = plot_h * value / top if top else 0.0
            bars.append(
                Bar(
                    _LEFT + i * slot + slot * 0.1 + s * bar_w, _TOP + plot_h - h, bar_w, h, s, category, value
                )
            )
    labels = tuple((_LEFT + (i + 0.5) * slot, c) for i, c in enumerate(categories) if i % label_every == 0)
    ticks = (
        tuple((_TOP + plot_h - plot_h * k / 4, top * k // 4) for k in range(5))
        if top
        else ((_TOP + plot_h, 0),)
    )
    total = sum(int(v) for values in series.values() for v in values)
    return BarChart(width, height, tuple(bars), labels, ticks, names, _LEFT, _TOP + plot_h, total)


def _round_up(value: int) -> int:
    """1, 2 or 5 times a power of ten, at least `value` (0 stays 0)."""
    if value <= 0:
        return 0
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= value:
                return m * step
        step *= 10
