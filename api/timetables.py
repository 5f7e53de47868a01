"""The published feed's timetables, loaded once and swapped atomically on publication.

:class:`TimetableHolder` keeps one :class:`LoadedFeed` (the newest published version): its
string tables, the default service day and the timetables built so far (one per day
asked, a few at most; built once per feed and day, then read back from the router's disk
cache :mod:`gtfs_out.timetable_cache` after a restart). A new publication builds the
new :class:`LoadedFeed` aside, then replaces the reference in one assignment: a query
running meanwhile finishes on the old timetable, the next one sees the new. Router
scratch space (:class:`RaptorState`) is pooled per timetable, one per concurrent query.
Query answers are kept per feed (deterministic seeds), so a repeated question is free;
so are the Monte Carlo draws of headway offsets of each day and draw count.
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
from numpy.typing import NDArray

from api.store.feeds import FeedVersion
from gtfs_out.read import GtfsTables, read_feed
from gtfs_out.timetable_cache import load_timetable
from transit.errors import FeedError, InputError, NotFoundError
from transit.gtfs_time import describe_dates, service_dates
from transit.one_to_all import draw_offsets
from transit.raptor import RaptorState
from transit.timetable import Timetable, build_timetable

__all__ = ["QUERY_SEED", "LoadedFeed", "TimetableHolder", "check_day", "default_service_date",
           "feed_path"]

T = TypeVar("T")

#: Timetables kept per feed (one per service day asked for).
MAX_DAYS = 4
#: Query answers kept per feed (least recently used dropped first).
MAX_ANSWERS = 4096
#: Seed of the Monte Carlo draws of every query (the same question, the same answer).
QUERY_SEED = 0
#: Sets of draws kept per feed (one per service day and draw count asked for).
MAX_DRAW_SETS = 64


def feed_path(data_dir: Path, sha256: str) -> Path:
    """Where the zip of a published feed is cached on disk."""
    return data_dir / "feeds" / f"{sha256}.zip"


def _write_once(path: Path, data: bytes) -> None:
    if path.is_file() and path.stat().st_size == len(data):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".zip", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def default_service_date(days: list[dt.date], preferred: dt.date | None) -> dt.date:
    """``preferred`` when given, else the first weekday among the feed's service ``days``
    (deterministic), else its first day of service."""
    if preferred is not None:
        return preferred
    if not days:
        raise FeedError("no service runs on any day", where="calendar.txt",
                        fix="give the feed a calendar with at least one day of service")
    weekdays = [d for d in days if d.weekday() < 5]
    return (weekdays or days)[0]


@dataclass
class LoadedFeed:
    """One published feed, ready to route on."""

    feed: FeedVersion
    tables: GtfsTables
    default_date: dt.date
    service_days: frozenset[dt.date]
    path: Path | None = None
    cache_dir: Path | None = None
    timetables: OrderedDict[dt.date, Timetable] = field(default_factory=OrderedDict)
    states: dict[int, queue.SimpleQueue[RaptorState]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    answers: OrderedDict[Hashable, Any] = field(default_factory=OrderedDict)
    draw_sets: dict[tuple[dt.date, int], NDArray[np.int32]] = field(default_factory=dict)

    def cached(self, key: Hashable) -> Any:
        """The kept answer to ``key``, or None."""
        with self.lock:
            value = self.answers.get(key)
            if value is not None:
                self.answers.move_to_end(key)
            return value

    def answer(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The answer to the query ``key`` on this feed, computed once and kept (LRU).

        Answers are deterministic (fixed seeds), so a kept answer is the one a new
        computation would give; a new feed version starts with none.
        """
        with self.lock:
            if key in self.answers:
                self.answers.move_to_end(key)
                return cast(T, self.answers[key])
        value = compute()
        with self.lock:
            self.answers[key] = value
            while len(self.answers) > MAX_ANSWERS:
                self.answers.popitem(last=False)
        return value

    def timetable(self, day: dt.date | None = None) -> Timetable:
        """The timetable of ``day`` (default: :attr:`default_date`), built on first use."""
        day = day or self.default_date
        with self.lock:
            tt = self.timetables.get(day)
            if tt is not None:
                self.timetables.move_to_end(day)
                return tt
        if self.path is not None and self.cache_dir is not None:
            tt = load_timetable(self.path, day, folder=self.cache_dir)[0]
        else:
            tt = build_timetable(self.tables, day, feed_sha256=self.feed.sha256)
        with self.lock:
            self.timetables[day] = tt
            while len(self.timetables) > MAX_DAYS:
                old_day, old = self.timetables.popitem(last=False)
                if old_day != self.default_date:
                    self.states.pop(id(old), None)
                else:  # the default day stays
                    self.timetables[old_day] = old
                    self.timetables.move_to_end(old_day, last=False)
                    break
        return tt

    def offsets(self, tt: Timetable, draws: int) -> NDArray[np.int32]:
        """``draw_offsets(tt, draws, QUERY_SEED)``, drawn once per service day and count.

        The draws depend only on the timetable, which is the same for one feed and day.
        """
        key = (tt.service_date, draws)
        with self.lock:
            kept = self.draw_sets.get(key)
        if kept is None:
            kept = draw_offsets(tt, draws, QUERY_SEED)
            kept.setflags(write=False)
            with self.lock:
                if len(self.draw_sets) >= MAX_DRAW_SETS:
                    self.draw_sets.clear()
                kept = self.draw_sets.setdefault(key, kept)
        return kept

    @contextmanager
    def state(self, tt: Timetable) -> Iterator[RaptorState]:
        """Scratch space for one query on ``tt``, returned to the pool afterwards."""
        with self.lock:
            pool = self.states.setdefault(id(tt), queue.SimpleQueue())
        try:
            st = pool.get_nowait()
        except queue.Empty:
            st = RaptorState(tt)
        try:
            yield st
        finally:
            pool.put(st)


class TimetableHolder:
    """The feed queries route on; :meth:`swap` publishes a new one atomically."""

    def __init__(self, data_dir: Path, service_date: dt.date | None = None) -> None:
        self.data_dir = data_dir
        self.service_date = service_date
        self._current: LoadedFeed | None = None

    @property
    def current(self) -> LoadedFeed:
        """The feed in use; :class:`NotFoundError` before the first publication."""
        loaded = self._current
        if loaded is None:
            raise NotFoundError("no feed is published yet",
                                fix="upload traces and start a build (POST /builds), or "
                                    "publish a GTFS zip (POST /feeds)")
        return loaded

    @property
    def loaded(self) -> LoadedFeed | None:
        """The feed in use, or None."""
        return self._current

    def load(self, feed: FeedVersion, data: bytes) -> LoadedFeed:
        """Read ``data`` (feed ``feed``) and build its default day's timetable."""
        path = feed_path(self.data_dir, feed.sha256)
        _write_once(path, data)
        tables = read_feed(path)
        days = service_dates(tables)
        day = default_service_date(days, self.service_date)
        loaded = LoadedFeed(feed=feed, tables=tables, default_date=day,
                            service_days=frozenset(days), path=path,
                            cache_dir=self.data_dir / "timetables")
        loaded.timetable(day)
        return loaded

    def swap(self, loaded: LoadedFeed) -> None:
        """Make ``loaded`` the feed every later query uses (one reference assignment)."""
        current = self._current
        if current is None or loaded.feed.version >= current.feed.version:
            self._current = loaded


def check_day(loaded: LoadedFeed, day: dt.date) -> None:
    """Raise :class:`InputError` when no service runs on ``day``."""
    if day not in loaded.service_days:
        raise InputError(f"no service runs on {day.isoformat()}", where="date",
                         fix=f"pick a service date: {describe_dates(loaded.service_days)}")
