"""The console's chart geometry: bars as shares of a step's largest figure, the revenue line over
the last 30 days with empty days at zero, and nothing divided by zero for a campaign that did nothing."""

from __future__ import annotations

import datetime as dt

from notifications.console import charts

TODAY = dt.date(2026, 12, 2)


def test_bars_are_shares_of_the_largest_stage():
    funnel = charts.funnel({"enrolled": 10, "sent": 8, "delivered": 8, "clicked": 4, "orders": 1})
    assert [(b.stage, b.value, b.width) for b in funnel.bars] == [
        ("enrolled", 10, 330.0), ("sent", 8, 264.0), ("delivered", 8, 264.0), ("clicked", 4, 132.0),
        ("orders", 1, 33.0)]
    assert [b.y for b in funnel.bars] == [0, 32, 64, 96, 128] and funnel.height == 152


def test_a_step_that_never_ran_has_empty_bars():
    funnel = charts.funnel(dict.fromkeys(("enrolled", "sent", "delivered", "clicked", "orders"), 0))
    assert {b.width for b in funnel.bars} == {0}


def test_the_line_covers_thirty_days_with_empty_days_at_zero():
    line = charts.revenue_line([{"date": "2026-11-30", "revenue": 500, "orders": 1},
                                {"date": "2026-12-02", "revenue": 1000, "orders": 2}], TODAY)
    assert len(line.points) == 30 and line.points[0].date == dt.date(2026, 11, 3)
    assert line.points[-1].date == TODAY and line.top == 1000
    left, top, right, bottom = line.plot
    assert [(p.date.isoformat(), p.y) for p in line.with_revenue] == [("2026-11-30", (top + bottom) / 2),
                                                                      ("2026-12-02", top)]
    assert {p.y for p in line.points if not p.revenue} == {bottom}
    assert line.points[0].x == left and line.points[-1].x == right
    assert line.polyline.startswith(f"{left:.1f},{bottom:.1f} ")


def test_nothing_recovered_is_a_flat_line_and_old_days_fall_out():
    empty = charts.revenue_line([], TODAY)
    assert empty.top == 0 and empty.with_revenue == [] and len({p.y for p in empty.points}) == 1
    old = charts.revenue_line([{"date": "2026-10-01", "revenue": 900, "orders": 1}], TODAY)
    assert old.with_revenue == [] and old.top == 0


def test_a_day_credited_after_today_ends_the_line():
    line = charts.revenue_line([{"date": "2026-12-03", "revenue": 100, "orders": 1}], TODAY)
    assert line.points[-1].date == dt.date(2026, 12, 3) and line.points[-1].revenue == 100
