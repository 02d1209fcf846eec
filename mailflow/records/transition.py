"""Leaving the HR transition (`hr_assist_until = "auto"`): each region's weekly on-time
rate and 日清 rate, and whether a region has met both for `[hr_assist] weeks` complete
weeks in a row (rules/notify.toml).

A week counts once it is complete: its last workday's clearing is due. A week in which
the region had no report due (a holiday week) neither counts nor breaks the streak; a
week before mailflow kept the record ends the look back. Regions in `[hr_assist] keep`
never qualify. Reads only; functions given an App open their own short transactions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from ..app import App
from ..dates.deadlines import clearing_due
from ..store.models import HrAssistEnd
from .clearing import figures
from .stats import person_periods, record_start

LOOK_BACK_WEEKS = 12   # holiday weeks skipped before the look back gives up


@dataclass(frozen=True)
class RegionWeek:
    region: str
    monday: date
    due: int
    on_time: int
    days: int          # supervisor-days with reports (settled)
    cleared: int

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.due if self.due else None

    @property
    def clearing_rate(self) -> float | None:
        return self.cleared / self.days if self.days else None


def week_complete(app: App, monday: date) -> bool:
    days = app.workdays.workdays_between(monday, monday + timedelta(days=6))
    return not days or app.now() >= clearing_due(days[-1], app)


def region_weeks(app: App, monday: date) -> dict[str, RegionWeek]:
    """Each region's figures for the week starting `monday`."""
    end = monday + timedelta(days=6)
    due: dict[str, list[int]] = {}
    for pp in person_periods(app, monday, end):
        counts = due.setdefault(pp.person.region or "—", [0, 0])
        counts[0] += pp.due
        counts[1] += pp.count("on_time")
    clearing: dict[str, list[int]] = {}
    for f in figures(app, monday, end):
        counts = clearing.setdefault(f.supervisor.region or "—", [0, 0])
        counts[0] += f.days
        counts[1] += f.cleared
    return {region: RegionWeek(region, monday, *due.get(region, [0, 0]),
                               *clearing.get(region, [0, 0]))
            for region in sorted(set(due) | set(clearing))}


@dataclass(frozen=True)
class Qualified:
    region: str
    weeks: tuple[RegionWeek, ...]     # oldest first
    from_day: date


def ended(app: App) -> dict[str, HrAssistEnd]:
    with app.read() as session:
        return {e.region: e for e in session.scalars(select(HrAssistEnd))}


def hr_on_digest(app: App, region: str | None, day: date,
                 ends: dict[str, HrAssistEnd] | None = None) -> bool:
    """Whether HR is in Cc of a digest of `region` for `day`. `ends`: `ended(app)` read
    once for many digests."""
    notify = app.policy.notify
    if not notify.hr_assist_auto:
        return notify.hr_assist_until is not None and day <= notify.hr_assist_until
    if region in notify.hr_assist_keep:
        return True
    end = (ended(app) if ends is None else ends).get(region or "—")
    return end is None or day < end.from_day


def qualifying(app: App, last_monday: date, from_day: date) -> list[Qualified]:
    """Regions (not yet off HR's digests, not kept) whose streak ends with the week of
    `last_monday` and is `[hr_assist] weeks` long, each met both rates."""
    notify = app.policy.notify
    start = record_start(app)
    done = ended(app)
    streaks: dict[str, list[RegionWeek]] = {}
    broken: set[str] = set()
    monday = last_monday
    for _ in range(notify.hr_assist_weeks + LOOK_BACK_WEEKS):
        if start is None or monday + timedelta(days=6) < start or not week_complete(app, monday):
            break
        for region, week in region_weeks(app, monday).items():
            if region in broken or region in done or region in notify.hr_assist_keep:
                continue
            if week.on_time_rate is None and week.clearing_rate is None:
                continue   # nothing due that week: it neither counts nor breaks
            ok = (week.on_time_rate is not None and
                  week.on_time_rate >= notify.hr_assist_on_time_rate and
                  week.clearing_rate is not None and
                  week.clearing_rate >= notify.hr_assist_clearing_rate)
            if not ok:
                broken.add(region)
                continue
            found = streaks.setdefault(region, [])
            if len(found) < notify.hr_assist_weeks:
                found.append(week)
        monday -= timedelta(days=7)
    return [Qualified(region, tuple(reversed(weeks)), from_day)
            for region, weeks in sorted(streaks.items())
            if len(weeks) >= notify.hr_assist_weeks and weeks[0].monday == last_monday]
