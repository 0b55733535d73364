"""Vietnamese time: policy dates, deadlines and months are dates in Asia/Ho_Chi_Minh (UTC+7, no DST)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def vietnam_date(now: datetime) -> date:
    """The calendar date in Vietnam of an aware datetime."""
    return now.astimezone(VIETNAM).date()


def day_of(now: datetime) -> datetime:
    """The start (UTC) of the Vietnamese day of `now`: a time coarsened to the day."""
    return datetime.combine(vietnam_date(now), time(), VIETNAM).astimezone(UTC)


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """The Vietnamese month [start, end) as UTC datetimes."""
    start = datetime.combine(date(year, month, 1), time(), VIETNAM)
    end = datetime.combine(date(year + month // 12, month % 12 + 1, 1), time(), VIETNAM)
    return start.astimezone(UTC), end.astimezone(UTC)
