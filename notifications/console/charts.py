"""The console's charts as geometry computed here, drawn as inline SVG by the templates: a funnel per
campaign step (enrolled -> sent -> delivered -> clicked -> orders) and a line of recovered revenue
per day. No chart library and no script: the page is the same with JavaScript off, and the figures
are also in a table beside each chart for screen readers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

STAGES = (("enrolled", "Enrolled"), ("sent", "Sent"), ("delivered", "Delivered"), ("clicked", "Clicked"),
          ("orders", "Orders"))
LINE_DAYS = 30  # the revenue line shows the last 30 days (UTC), ending today or at the last order credited

# Funnel: a label column, then bars as wide as their share of the step's largest figure.
FUNNEL_WIDTH, FUNNEL_LABELS, FUNNEL_BAR_AREA, BAR_HEIGHT, BAR_GAP = 480, 90, 330, 24, 8
# Line: the plot inside margins for the axis labels.
LINE_WIDTH, LINE_HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 220, 70, 16, 12, 36


@dataclass(frozen=True)
class Bar:
    stage: str
    label: str
    value: int
    x: int
    y: int
    width: float
    height: int


@dataclass(frozen=True)
class Funnel:
    width: int
    height: int
    bars: list[Bar]


@dataclass(frozen=True)
class Point:
    date: dt.date
    revenue: int
    orders: int
    x: float
    y: float


@dataclass(frozen=True)
class Line:
    width: int
    height: int
    points: list[Point]
    top: int  # the largest revenue of a day (the y axis's top label); 0 when nothing was recovered
    plot: tuple[int, int, int, int]  # left, top, right, bottom of the plot area

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)

    @property
    def with_revenue(self) -> list[Point]:
        return [p for p in self.points if p.revenue]


def funnel(step: dict) -> Funnel:
    """One step's funnel from its report row: each stage a bar, widths relative to the largest stage."""
    largest = max((step[key] for key, _ in STAGES), default=0) or 1
    bars = [Bar(key, label, step[key], FUNNEL_LABELS, i * (BAR_HEIGHT + BAR_GAP),
                round(FUNNEL_BAR_AREA * step[key] / largest, 1), BAR_HEIGHT)
            for i, (key, label) in enumerate(STAGES)]
    return Funnel(FUNNEL_WIDTH, len(STAGES) * (BAR_HEIGHT + BAR_GAP) - BAR_GAP, bars)


def revenue_line(daily: list[dict], today: dt.date, days: int = LINE_DAYS) -> Line:
    """The report's daily revenue over `days` days ending today (or at the last day credited, if
    later), days without orders at zero."""
    by_day = {dt.date.fromisoformat(row["date"]): row for row in daily}
    last = max([today, *by_day])
    dates = [last - dt.timedelta(days=days - 1 - i) for i in range(days)]
    top = max((by_day[d]["revenue"] for d in dates if d in by_day), default=0)
    right, bottom = LINE_WIDTH - RIGHT, LINE_HEIGHT - BOTTOM
    step = (right - LEFT) / max(days - 1, 1)
    points = []
    for i, date in enumerate(dates):
        row = by_day.get(date, {"revenue": 0, "orders": 0})
        y = bottom - (bottom - TOP) * row["revenue"] / top if top else bottom
        points.append(Point(date, row["revenue"], row["orders"], LEFT + i * step, y))
    return Line(LINE_WIDTH, LINE_HEIGHT, points, top, (LEFT, TOP, right, bottom))
