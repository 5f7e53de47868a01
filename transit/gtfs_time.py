"""GTFS clock times and service calendars, parsed from string tables.

Clock times are integer seconds since service-day midnight and may exceed 24 h
(``25:10:00`` is 01:10 the next morning, still on the service day that started the trip).
Service days come from ``calendar.txt`` (weekly pattern between two dates) and
``calendar_dates.txt`` (``exception_type`` 1 adds a date, 2 removes it), as in the GTFS
reference (https://gtfs.org/schedule/reference/).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Protocol

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from transit.errors import FeedError, InputError

__all__ = [
    "FeedTables",
    "describe_dates",
    "parse_clock_s",
    "parse_gtfs_times_s",
    "service_dates",
    "service_ids_on",
]

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CLOCK = re.compile(r"^\s*(\d{1,3}):([0-5]\d)(?::([0-5]\d))?\s*$")


class FeedTables(Protocol):
    """Anything that hands out GTFS files as string tables by file stem.

    :class:`gtfs_out.read.GtfsTables` and a plain ``dict[str, DataFrame]`` both qualify.
    """

    def get(self, name: str) -> pd.DataFrame | None:
        """The table of ``name.txt``, or None when the feed has no such file."""
        ...


def parse_clock_s(text: str) -> int:
    """Parse a clock time ``H:MM`` or ``H:MM:SS`` into seconds since service-day midnight.

    Hours may exceed 23 (``25:10`` is 01:10 on the next morning of the same service day).

    Raises
    ------
    InputError
        When ``text`` is not such a time.
    """
    match = _CLOCK.match(text)
    if match is None:
        raise InputError(f"'{text}' is not a clock time",
                         fix="write HH:MM or HH:MM:SS, e.g. 07:30 or 25:10 for 01:10 next day")
    h, m, s = match.groups()
    return int(h) * 3600 + int(m) * 60 + int(s or 0)


def parse_gtfs_times_s(values: pd.Series) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Parse a column of GTFS times (``H:MM:SS``, hours may exceed 23), vectorised.

    Returns
    -------
    (time_s, ok)
        Seconds since service-day midnight (0 where not ok) and a mask of cells that held a
        valid time. Empty cells are not ok; the caller decides whether that is allowed.
    """
    parts = values.astype(str).str.extract(r"^\s*(\d{1,3}):(\d{1,2}):(\d{1,2})\s*$")
    ok = parts[0].notna().to_numpy()
    filled = parts.fillna("0").astype(np.int64).to_numpy()
    time_s = filled[:, 0] * 3600 + filled[:, 1] * 60 + filled[:, 2]
    return np.where(ok, time_s, 0).astype(np.int64), ok


def _yyyymmdd(text: str, where: str) -> dt.date:
    try:
        return dt.datetime.strptime(text.strip(), "%Y%m%d").date()
    except ValueError:
        raise FeedError(f"'{text}' is not a date", where=where,
                        fix="write dates as YYYYMMDD") from None


def service_ids_on(feed: FeedTables, day: dt.date) -> set[str]:
    """The ``service_id`` values that run on ``day`` (calendar plus calendar_dates)."""
    active: set[str] = set()
    calendar = feed.get("calendar")
    if calendar is not None and len(calendar):
        weekday = _WEEKDAYS[day.weekday()]
        for rec in calendar.to_dict("records"):
            start = _yyyymmdd(str(rec.get("start_date", "")), "calendar.txt start_date")
            end = _yyyymmdd(str(rec.get("end_date", "")), "calendar.txt end_date")
            if start <= day <= end and str(rec.get(weekday, "0")).strip() == "1":
                active.add(str(rec["service_id"]))
    dates = feed.get("calendar_dates")
    if dates is not None and len(dates):
        key = day.strftime("%Y%m%d")
        today = dates[dates["date"].str.strip() == key]
        for sid, kind in zip(today["service_id"], today["exception_type"].str.strip(),
                             strict=True):
            if kind == "1":
                active.add(str(sid))
            elif kind == "2":
                active.discard(str(sid))
    return active


def service_dates(feed: FeedTables) -> list[dt.date]:
    """Every date on which at least one service runs, in order."""
    days: set[dt.date] = set()
    calendar = feed.get("calendar")
    candidates: set[dt.date] = set()
    if calendar is not None:
        for start_text, end_text in zip(calendar.get("start_date", []),
                                        calendar.get("end_date", []), strict=True):
            start = _yyyymmdd(str(start_text), "calendar.txt start_date")
            end = _yyyymmdd(str(end_text), "calendar.txt end_date")
            span = (end - start).days
            if span > 366 * 20:
                raise FeedError(f"calendar spans {span} days", where="calendar.txt",
                                fix="check start_date and end_date")
            candidates.update(start + dt.timedelta(days=k) for k in range(span + 1))
    dates = feed.get("calendar_dates")
    if dates is not None and "date" in dates:
        candidates.update(_yyyymmdd(str(d), "calendar_dates.txt date") for d in dates["date"])
    for day in sorted(candidates):
        if service_ids_on(feed, day):
            days.add(day)
    return sorted(days)


def describe_dates(days: Iterable[dt.date], limit: int = 6) -> str:
    """Dates as compact ranges, e.g. ``2019-01-01..2019-12-31, 2020-02-03``."""
    ordered = sorted(set(days))
    if not ordered:
        return "none"
    runs: list[tuple[dt.date, dt.date]] = []
    for day in ordered:
        if runs and (day - runs[-1][1]).days == 1:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    texts = [a.isoformat() if a == b else f"{a.isoformat()}..{b.isoformat()}" for a, b in runs]
    if len(texts) > limit:
        texts = [*texts[:limit], f"and {len(texts) - limit} more"]
    return ", ".join(texts)
