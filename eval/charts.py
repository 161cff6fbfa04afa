"""Inline SVG charts for the eval report: a histogram and one bar per case, no JS, no CDN.

Every string that comes from data is escaped here; callers pass raw text.

    >>> svg = histogram_svg([0.2, 0.9, 1.0], kind_label="faithfulness")
    >>> svg.startswith("<svg") and 'data-kind="distribution"' in svg
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

BINS = 10
HEIGHT = 150
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 34, 8, 10, 22
HIST_WIDTH = 230
BARS_WIDTH = 460


def esc(value: object) -> str:
    return escape(str(value), quote=True)


def fmt(value: float | None) -> str:
    """A number short enough for a table cell or an axis; `—` where there is none."""
    if value is None or not math.isfinite(value):
        return "—"
    if abs(value) < 10:
        return f"{value:.3f}"
    return f"{value:.1f}" if abs(value) < 1000 else f"{value:.0f}"


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 × 10^k at or above `value` (so axis labels stay round)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def value_domain(values: Sequence[float]) -> tuple[float, float]:
    """[0, 1] for rates and scores so every such chart reads alike; else [min(0, lo), nice hi]."""
    if all(0.0 <= v <= 1.0 for v in values):
        return 0.0, 1.0
    low = min(0.0, *values)
    return low, nice_ceiling(max(values))


@dataclass(frozen=True)
class Frame:
    """The plot area of one chart and its value axis."""

    width: int
    low: float
    high: float

    @property
    def plot_width(self) -> float:
        return self.width - PAD_LEFT - PAD_RIGHT

    def y(self, value: float) -> float:
        span = (self.high - self.low) or 1.0
        share = min(max((value - self.low) / span, 0.0), 1.0)
        return PAD_TOP + (1 - share) * (HEIGHT - PAD_TOP - PAD_BOTTOM)


def _open(kind: str, width: int, label: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" data-kind="{kind}" '
            f'viewBox="0 0 {width} {HEIGHT}" width="{width}" height="{HEIGHT}" '
            f'role="img" aria-label="{esc(label)}">')


def _y_axis(frame: Frame, high: float) -> list[str]:
    """Grid lines and labels at the bottom, middle and top of the value axis."""
    parts = []
    for tick in (frame.low, (frame.low + high) / 2, high):
        y = frame.y(tick)
        parts.append(f'<line class="grid" x1="{PAD_LEFT}" x2="{frame.width - PAD_RIGHT}" '
                     f'y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text class="tick" x="{PAD_LEFT - 4}" y="{y + 3:.1f}" '
                     f'text-anchor="end">{esc(_tick(tick))}</text>')
    return parts


def _tick(value: float) -> str:
    return f"{value:g}"


def histogram_svg(values: Sequence[float], kind_label: str = "") -> str:
    """Counts of `values` in ten equal bins over their domain; x = value, y = number of cases."""
    low, high = value_domain(values) if values else (0.0, 1.0)
    counts = [0] * BINS
    for value in values:
        # The top edge belongs to the last bin, so a perfect 1.0 is counted.
        index = min(int((value - low) / (high - low) * BINS), BINS - 1)
        counts[max(index, 0)] += 1
    # An even top keeps the middle grid line on a whole number of cases.
    top = float(max(2, max(counts) + max(counts) % 2))
    frame = Frame(HIST_WIDTH, 0.0, top)
    parts = [_open("distribution", HIST_WIDTH, f"distribution of {kind_label}"),
             *_y_axis(frame, top)]
    step = frame.plot_width / BINS
    width = (high - low) / BINS
    for index, count in enumerate(counts):
        x, y = PAD_LEFT + index * step, frame.y(count)
        edge = low + index * width
        tip = f"{_tick(edge)}–{_tick(edge + width)}: {count} case{'s' * (count != 1)}"
        parts.append(f'<rect class="bin" data-count="{count}" x="{x + 1:.1f}" y="{y:.1f}" '
                     f'width="{step - 2:.1f}" height="{frame.y(0) - y:.1f}">'
                     f'<title>{esc(tip)}</title></rect>')
    parts += _x_labels(f"{_tick(low)}", f"{_tick(high)}", HIST_WIDTH)
    if not values:
        parts.append(_no_data(HIST_WIDTH))
    return "".join(parts) + "</svg>"


def _x_labels(left: str, right: str, width: int) -> list[str]:
    y = HEIGHT - 6
    return [f'<text class="tick" x="{PAD_LEFT}" y="{y}">{esc(left)}</text>',
            f'<text class="tick" x="{width - PAD_RIGHT}" y="{y}" '
            f'text-anchor="end">{esc(right)}</text>']


def _no_data(width: int) -> str:
    return (f'<text class="empty" x="{width / 2:.0f}" y="{HEIGHT / 2:.0f}" '
            f'text-anchor="middle">no values</text>')


@dataclass(frozen=True)
class Bar:
    """One case in a per-question chart: its value (None: not applicable) and its tooltip."""

    value: float | None
    tip: str


def bars_svg(bars: Sequence[Bar], mean: float | None = None,
             interval: tuple[float | None, float | None] = (None, None),
             kind_label: str = "") -> str:
    """One bar per case in case order, the mean as a dashed line over its 95 % interval band."""
    known = [bar.value for bar in bars if bar.value is not None]
    low, high = value_domain(known) if known else (0.0, 1.0)
    frame = Frame(BARS_WIDTH, low, high)
    parts = [_open("per-question", BARS_WIDTH, f"{kind_label} per question"), *_y_axis(frame, high)]
    parts += _band(frame, interval)
    step = frame.plot_width / max(len(bars), 1)
    for index, bar in enumerate(bars):
        parts.append(_case_bar(frame, PAD_LEFT + index * step, step, bar))
    parts += _mean_line(frame, mean)
    parts += _x_labels("1", str(len(bars)), BARS_WIDTH) if bars else []
    if not known:
        parts.append(_no_data(BARS_WIDTH))
    return "".join(parts) + "</svg>"


def _case_bar(frame: Frame, x: float, step: float, bar: Bar) -> str:
    """A full-height hover target (so thin or zero bars still show their tooltip) and the bar."""
    gap = 1.0 if step > 4 else 0.0
    hit = (f'<rect class="hit" x="{x:.1f}" y="{PAD_TOP}" width="{step:.2f}" '
           f'height="{HEIGHT - PAD_TOP - PAD_BOTTOM}"/>')
    if bar.value is None:
        mark = (f'<rect class="na" x="{x + gap / 2:.2f}" y="{frame.y(frame.low) - 3:.1f}" '
                f'width="{max(step - gap, 0.5):.2f}" height="3"/>')
        css = "case missing"
    else:
        top, base = frame.y(max(bar.value, frame.low)), frame.y(max(frame.low, 0.0))
        # A zero still gets a sliver, so the case is visibly there and scored.
        height = max(base - top, 1.5)
        mark = (f'<rect class="bar" x="{x + gap / 2:.2f}" y="{base - height:.1f}" '
                f'width="{max(step - gap, 0.5):.2f}" height="{height:.1f}"/>')
        css = "case"
    return f'<g class="{css}"><title>{esc(bar.tip)}</title>{hit}{mark}</g>'


def _band(frame: Frame, interval: tuple[float | None, float | None]) -> list[str]:
    low, high = interval
    if low is None or high is None:
        return []
    top, bottom = frame.y(high), frame.y(low)
    return [f'<rect class="ci" x="{PAD_LEFT}" y="{top:.1f}" width="{frame.plot_width}" '
            f'height="{max(bottom - top, 0.5):.1f}"><title>95 % interval '
            f'{esc(fmt(low))}–{esc(fmt(high))}</title></rect>']


def _mean_line(frame: Frame, mean: float | None) -> list[str]:
    """Drawn over the bars so the summary value stays visible."""
    if mean is None:
        return []
    y = frame.y(mean)
    return [f'<line class="mean" x1="{PAD_LEFT}" x2="{frame.width - PAD_RIGHT}" y1="{y:.1f}" '
            f'y2="{y:.1f}"><title>summary {esc(fmt(mean))}</title></line>']
