"""calendar.txt rows have valid dates in order and at least one service day."""

from __future__ import annotations

from datetime import datetime

from gtfs_out.findings import Finding
from gtfs_out.read import GtfsTables
from gtfs_out.rules._common import column

_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _date(text: str) -> datetime | None:
    try:
        return datetime.strptime(text.strip(), "%Y%m%d")
    except ValueError:
        return None


def check(feed: GtfsTables) -> list[Finding]:
    """Errors for bad or reversed dates; a warning for a service that never runs."""
    cal = feed.get("calendar")
    if cal is None or cal.empty:
        return []
    out: list[Finding] = []
    for i, sid in enumerate(column(cal, "service_id")):
        start_t, end_t = column(cal, "start_date").iloc[i], column(cal, "end_date").iloc[i]
        start, end = _date(start_t), _date(end_t)
        if start is None or end is None:
            out.append(Finding("invalid_date", "error", "calendar.txt", sid,
                               "start_date,end_date", f"{start_t},{end_t}", "dates are YYYYMMDD"))
        elif end < start:
            out.append(Finding("start_and_end_range_out_of_order", "error", "calendar.txt", sid,
                               "end_date", end_t, "end_date is before start_date"))
        if all(column(cal, d).iloc[i].strip() != "1" for d in _DAYS):
            out.append(Finding("service_never_runs", "warning", "calendar.txt", sid,
                               message="no weekday is set to 1"))
    return out
