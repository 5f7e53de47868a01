"""The timetable: one service day of a GTFS feed as read-only integer-indexed arrays.

Built once by :func:`build_timetable` (a pure function over string tables), then only read
by the router. The layout follows Conveyal R5's ``TransitLayer`` and the RAPTOR paper:

* stops ``0..n_stops-1`` in Z-order of their coordinates (``stop_ids`` maps back to GTFS
  ids, ``stop_index``/:meth:`Timetable.stop_for_id` the other way);
* patterns: trips of one route with the same stop sequence (and pickup/drop-off rules);
  ``pattern_stops[pattern_stop_ptr[p]:pattern_stop_ptr[p+1]]`` are its stops in order;
* scheduled trips of pattern ``p`` are ``pattern_trip_ptr[p]..pattern_trip_ptr[p+1]-1``,
  sorted by departure; their times are stop-major in ``trip_dep_s``/``trip_arr_s``:
  trip ``t`` (0-based within the pattern, ``m`` trips) at stop position ``i`` is at
  ``pattern_time_ptr[p] + i*m + t``. Patterns are split so that no trip overtakes another
  (first-in first-out), which RAPTOR needs;
* frequency patterns (``pattern_is_frequency``) hold a single template whose times are
  relative to its first departure; its windows are ``freq_start_s[e]``, ``freq_end_s[e]``,
  ``freq_headway_s[e]`` for ``e`` in ``pattern_freq_ptr[p]..pattern_freq_ptr[p+1]-1``.
  Vehicles leave the first stop at ``start + offset + k*headway < end`` where the offset
  in ``[0, headway)`` is drawn at random per Monte Carlo draw (R5's method);
* stop -> (pattern, position) and stop -> stop walking transfers, both CSR.

Clock times are int32 seconds since service-day midnight (may exceed 86,400). Trips of the
previous service day that run past midnight are included, shifted by -86,400 s.

References
----------
D. Delling, T. Pajor, R. F. Werneck, "Round-Based Public Transit Routing", ALENEX 2012.
M. Conway, A. Byrd, M. van der Linden, "Evidence-based transit and land use sketch
planning using interactive accessibility methods on combined schedule and headway-based
networks", Transportation Research Record 2653, 2017.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from transit.errors import FeedError, InputError
from transit.gtfs_time import FeedTables, describe_dates, service_dates, service_ids_on
from transit.timetable_parse import TripRows, parse_stops, parse_trips
from transit.walk import EARTH_RADIUS_M, WalkParams, build_transfers, unit_vectors

__all__ = ["DAY_S", "UNREACHED", "FrequencyMode", "Timetable", "build_timetable"]

#: One day, seconds.
DAY_S = 86_400
#: The one "not reached / no time" sentinel for clock times and durations (int32 max).
UNREACHED = np.int32(np.iinfo(np.int32).max)

#: ``"sample"``: ``exact_times=0`` windows stay headway-based (random offset per draw);
#: ``"expand"``: every window becomes scheduled trips leaving at ``start, start+headway...``
#: (what ``gtfs_kit.expand_frequencies`` writes).
FrequencyMode = Literal["sample", "expand"]

_ARRAY_FIELDS = (
    "stop_lat", "stop_lon", "stop_xyz", "pattern_stop_ptr", "pattern_stops", "pattern_board_ok",
    "pattern_alight_ok", "pattern_is_frequency", "pattern_trip_ptr", "pattern_time_ptr",
    "trip_dep_s", "trip_arr_s", "pattern_freq_ptr", "freq_start_s", "freq_end_s",
    "freq_headway_s", "stop_pattern_ptr", "stop_pattern", "stop_pattern_pos", "transfer_ptr",
    "transfer_stop", "transfer_s",
)


@dataclass(frozen=True)
class Timetable:
    """One service day, as read-only arrays (see the module docstring for the layout).

    ``stop_xyz`` holds unit vectors of the stops (Earth-centred), for chord distances;
    ``max_speed_mps`` is the fastest straight-line speed of any move in the timetable (a
    vehicle between two consecutive stops, or walking), so ``chord / max_speed_mps`` is a
    lower bound on the time between two places (infinite when a hop takes zero seconds).

    Boundary maps (``stop_ids``, ``stop_names``, ``pattern_route_id``, ``route_names``,
    ``trip_ids``, ``freq_trip_ids``: the template trip of each frequency window) turn
    indices back into GTFS ids for itineraries; the router never reads them.
    """

    stop_lat: NDArray[np.float64]
    stop_lon: NDArray[np.float64]
    stop_xyz: NDArray[np.float64]
    pattern_stop_ptr: NDArray[np.int32]
    pattern_stops: NDArray[np.int32]
    pattern_board_ok: NDArray[np.uint8]
    pattern_alight_ok: NDArray[np.uint8]
    pattern_is_frequency: NDArray[np.uint8]
    pattern_trip_ptr: NDArray[np.int32]
    pattern_time_ptr: NDArray[np.int32]
    trip_dep_s: NDArray[np.int32]
    trip_arr_s: NDArray[np.int32]
    pattern_freq_ptr: NDArray[np.int32]
    freq_start_s: NDArray[np.int32]
    freq_end_s: NDArray[np.int32]
    freq_headway_s: NDArray[np.int32]
    stop_pattern_ptr: NDArray[np.int32]
    stop_pattern: NDArray[np.int32]
    stop_pattern_pos: NDArray[np.int32]
    transfer_ptr: NDArray[np.int32]
    transfer_stop: NDArray[np.int32]
    transfer_s: NDArray[np.int32]
    stop_ids: tuple[str, ...]
    stop_names: tuple[str, ...]
    pattern_route_id: tuple[str, ...]
    route_names: dict[str, str]
    trip_ids: tuple[str, ...]
    freq_trip_ids: tuple[str, ...]
    service_date: dt.date
    max_speed_mps: float = float("inf")
    walk: WalkParams = field(default_factory=WalkParams)
    frequencies: FrequencyMode = "sample"
    feed_sha256: str = ""
    dropped_trips: tuple[tuple[str, str], ...] = ()
    stop_index: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name in _ARRAY_FIELDS:
            array = np.ascontiguousarray(getattr(self, name))
            array.flags.writeable = False
            object.__setattr__(self, name, array)
        if not self.stop_index:
            object.__setattr__(self, "stop_index",
                               {sid: i for i, sid in enumerate(self.stop_ids)})

    @property
    def n_stops(self) -> int:
        """Number of stops."""
        return int(self.stop_lat.shape[0])

    @property
    def n_patterns(self) -> int:
        """Number of patterns."""
        return int(self.pattern_stop_ptr.shape[0] - 1)

    @cached_property
    def stop_box(self) -> tuple[float, float, float, float]:
        """The stops' bounding box (min lat, max lat, min lon, max lon), degrees; computed
        on first use and kept (area checks read it for every query)."""
        return (float(self.stop_lat.min()), float(self.stop_lat.max()),
                float(self.stop_lon.min()), float(self.stop_lon.max()))

    @property
    def n_freq_entries(self) -> int:
        """Number of frequency windows (each gets one random offset per draw)."""
        return int(self.freq_start_s.shape[0])

    def arrays(self) -> dict[str, NDArray[np.generic]]:
        """The arrays by field name (what the disk cache stores)."""
        return {name: getattr(self, name) for name in _ARRAY_FIELDS}

    def stop_for_id(self, stop_id: str) -> int:
        """Index of a GTFS ``stop_id``; :class:`InputError` when the feed has no such stop."""
        try:
            return self.stop_index[stop_id]
        except KeyError:
            raise InputError(f"no stop '{stop_id}' in the feed",
                             fix="give a stop_id from stops.txt") from None

    def route_name_for_pattern(self, pattern: int) -> str:
        """The public name (short name, else long name, else id) of a pattern's route."""
        route_id = self.pattern_route_id[pattern]
        return self.route_names.get(route_id, route_id)


@dataclass
class _Group:
    """Trips sharing route, stops and pickup/drop-off rules, before the FIFO split."""

    stops: NDArray[np.int32]
    board_ok: NDArray[np.uint8]
    alight_ok: NDArray[np.uint8]
    dep: list[NDArray[np.int64]] = field(default_factory=list)   # (k, n) per block
    arr: list[NDArray[np.int64]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)


def _active_trip_shifts(feed: FeedTables, day: dt.date) -> dict[str, list[int]]:
    """Service ids running on ``day`` -> shift 0, and on the day before -> shift -DAY_S."""
    shifts: dict[str, list[int]] = {}
    for sid in service_ids_on(feed, day - dt.timedelta(days=1)):
        shifts.setdefault(sid, []).append(-DAY_S)
    for sid in service_ids_on(feed, day):
        shifts.setdefault(sid, []).append(0)
    return shifts


def _fifo_split(dep: NDArray[np.int64], arr: NDArray[np.int64]) -> list[list[int]]:
    """Split trips (rows, sorted by departure) into groups where none overtakes another."""
    groups: list[list[int]] = []
    last: list[int] = []
    for t in range(dep.shape[0]):
        for g, prev in enumerate(last):
            if np.all(dep[t] >= dep[prev]) and np.all(arr[t] >= arr[prev]):
                groups[g].append(t)
                last[g] = t
                break
        else:
            groups.append([t])
            last.append(t)
    return groups


def _max_hop_speed_mps(stop_xyz: NDArray[np.float64], stop_ptr: list[int],
                       pattern_stops: NDArray[np.int32], deps: list[NDArray[np.int64]],
                       arrs: list[NDArray[np.int64]]) -> float:
    """Fastest chord distance / time between consecutive stops over every vehicle."""
    fastest = 0.0
    for p, (dep, arr) in enumerate(zip(deps, arrs, strict=True)):
        stops = pattern_stops[stop_ptr[p]:stop_ptr[p + 1]]
        n = stops.size
        m = dep.size // n
        hop_m = np.linalg.norm(stop_xyz[stops[1:]] - stop_xyz[stops[:-1]], axis=1) \
            * EARTH_RADIUS_M
        hop_s = arr.reshape(n, m)[1:] - dep.reshape(n, m)[:-1]       # (n-1, m)
        moving = hop_m > 0.5
        if not moving.any():
            continue
        shortest_s = hop_s[moving].min(axis=1)
        if (shortest_s <= 0).any():
            return float("inf")
        fastest = max(fastest, float(np.max(hop_m[moving] / shortest_s)))
    return fastest


def build_timetable(feed: FeedTables, service_date: dt.date, *,
                    walk: WalkParams | None = None, frequencies: FrequencyMode = "sample",
                    feed_sha256: str = "") -> Timetable:
    """Build the timetable of one service day from GTFS string tables.

    Parameters
    ----------
    feed
        GTFS files as string tables (e.g. :func:`gtfs_out.read.read_feed`).
    service_date
        The service day; trips of the day before that run past midnight are included.
    walk
        Walking rules for transfers between stops (defaults of :class:`WalkParams`).
    frequencies
        ``"sample"`` keeps ``exact_times=0`` windows headway-based (a random start offset
        per Monte Carlo draw); ``"expand"`` turns them into trips at ``start, +headway...``.
        ``exact_times=1`` windows are always expanded (GTFS: they are exact schedules).
    feed_sha256
        The feed's content hash, recorded for caches.

    Raises
    ------
    InputError
        When no service runs on ``service_date`` (the message lists the service dates).
    FeedError
        When a table lacks a required column or holds unreadable values.
    """
    walk = walk or WalkParams()
    shifts = _active_trip_shifts(feed, service_date)
    if 0 not in {shift for values in shifts.values() for shift in values}:
        raise InputError(f"no service runs on {service_date.isoformat()}",
                         where="calendar.txt/calendar_dates.txt",
                         fix=f"pick a service date: {describe_dates(service_dates(feed))}")
    stop_ids, stop_names, stop_lat, stop_lon = parse_stops(feed)
    stop_index = {sid: i for i, sid in enumerate(stop_ids)}
    rows = parse_trips(feed, shifts, stop_index, expand_inexact=frequencies == "expand")
    if not rows.trips:
        raise InputError(f"no trips run on {service_date.isoformat()}",
                         fix=f"pick a service date: {describe_dates(service_dates(feed))}")
    return _assemble(rows, stop_ids, stop_names, stop_lat, stop_lon, service_date, walk,
                     frequencies, feed_sha256)


def _assemble(rows: TripRows, stop_ids: tuple[str, ...], stop_names: tuple[str, ...],
              stop_lat: NDArray[np.float64], stop_lon: NDArray[np.float64],
              service_date: dt.date, walk: WalkParams, frequencies: FrequencyMode,
              feed_sha256: str) -> Timetable:
    sched: dict[tuple[str, bytes, bytes, bytes], _Group] = {}
    freq: dict[tuple[str, bytes, bytes, bytes, bytes, bytes],
               tuple[_Group, list[tuple[int, int, int, str]]]] = {}
    for trip in rows.trips:
        key = (trip.route_id, trip.stops.tobytes(), trip.board_ok.tobytes(),
               trip.alight_ok.tobytes())
        if trip.windows:
            fkey = (*key, trip.rel_dep.tobytes(), trip.rel_arr.tobytes())
            if fkey not in freq:
                group = _Group(trip.stops, trip.board_ok, trip.alight_ok,
                               [trip.rel_dep[None, :]], [trip.rel_arr[None, :]], [trip.trip_id])
                freq[fkey] = (group, [])
            freq[fkey][1].extend((*w, trip.trip_id) for w in trip.windows)
        if trip.starts.size:
            group = sched.setdefault(key, _Group(trip.stops, trip.board_ok, trip.alight_ok))
            group.dep.append(trip.starts[:, None] + trip.rel_dep[None, :])
            group.arr.append(trip.starts[:, None] + trip.rel_arr[None, :])
            group.ids.extend([trip.trip_id] * int(trip.starts.size))
    # (sort key, group, dep (m, n), arr (m, n), ids, windows)
    units: list[tuple[tuple[object, ...], _Group, NDArray[np.int64], NDArray[np.int64],
                      list[str], list[tuple[int, int, int, str]]]] = []
    for key, group in sched.items():
        dep = np.concatenate(group.dep)
        arr = np.concatenate(group.arr)
        order = np.lexsort(tuple(dep[:, i] for i in range(dep.shape[1] - 1, -1, -1)))
        dep, arr = dep[order], arr[order]
        ids = [group.ids[i] for i in order]
        for k, members in enumerate(_fifo_split(dep, arr)):
            units.append(((*key, 0, k), group, dep[members], arr[members],
                          [ids[i] for i in members], []))
    for fkey, (group, windows) in freq.items():
        units.append(((*fkey[:4], 1, fkey[4], fkey[5]), group, group.dep[0], group.arr[0],
                      group.ids[:1], sorted(windows)))
    units.sort(key=lambda u: u[0])

    n_stops = len(stop_ids)
    stop_ptr, trip_ptr, time_ptr, freq_ptr = [0], [0], [0], [0]
    p_stops, p_board, p_alight, p_freq, route_of = [], [], [], [], []
    deps, arrs, trip_ids, windows_all = [], [], [], []
    for unit_key, group, dep, arr, ids, windows in units:
        p_stops.append(group.stops)
        p_board.append(group.board_ok)
        p_alight.append(group.alight_ok)
        p_freq.append(1 if windows else 0)
        route_of.append(str(unit_key[0]))
        deps.append(dep.T.reshape(-1))      # stop-major
        arrs.append(arr.T.reshape(-1))
        trip_ids.extend(ids)
        windows_all.extend(windows)
        stop_ptr.append(stop_ptr[-1] + group.stops.size)
        trip_ptr.append(trip_ptr[-1] + dep.shape[0])
        time_ptr.append(time_ptr[-1] + dep.size)
        freq_ptr.append(freq_ptr[-1] + len(windows))
    pattern_stops = np.concatenate(p_stops).astype(np.int32)
    pattern_of = np.repeat(np.arange(len(units), dtype=np.int32), np.diff(stop_ptr))
    pos = np.arange(pattern_stops.size, dtype=np.int64) - np.repeat(np.asarray(stop_ptr[:-1]),
                                                                    np.diff(stop_ptr))
    by_stop = np.lexsort((pos, pattern_of, pattern_stops))
    sp_ptr = np.zeros(n_stops + 1, np.int64)
    np.add.at(sp_ptr, pattern_stops + 1, 1)
    all_times = np.concatenate(deps + arrs)
    if all_times.size and (all_times.max() >= UNREACHED // 2 or all_times.min() < -2 * DAY_S):
        raise FeedError("stop times are out of range", where="stop_times.txt",
                        fix="write times as H:MM:SS within a few days of midnight")
    win = np.asarray([w[:3] for w in windows_all], dtype=np.int64).reshape(-1, 3)
    transfer_ptr, transfer_stop, transfer_s = build_transfers(stop_lat, stop_lon, walk)
    stop_xyz = unit_vectors(stop_lat, stop_lon)
    speed = max(walk.speed_mps / walk.detour_factor,
                _max_hop_speed_mps(stop_xyz, stop_ptr, pattern_stops, deps, arrs))
    return Timetable(
        stop_lat=stop_lat, stop_lon=stop_lon, stop_xyz=stop_xyz, max_speed_mps=speed,
        pattern_stop_ptr=np.asarray(stop_ptr, np.int32), pattern_stops=pattern_stops,
        pattern_board_ok=np.concatenate(p_board).astype(np.uint8),
        pattern_alight_ok=np.concatenate(p_alight).astype(np.uint8),
        pattern_is_frequency=np.asarray(p_freq, np.uint8),
        pattern_trip_ptr=np.asarray(trip_ptr, np.int32),
        pattern_time_ptr=np.asarray(time_ptr, np.int32),
        trip_dep_s=np.concatenate(deps).astype(np.int32),
        trip_arr_s=np.concatenate(arrs).astype(np.int32),
        pattern_freq_ptr=np.asarray(freq_ptr, np.int32),
        freq_start_s=win[:, 0].astype(np.int32), freq_end_s=win[:, 1].astype(np.int32),
        freq_headway_s=win[:, 2].astype(np.int32),
        stop_pattern_ptr=np.cumsum(sp_ptr).astype(np.int32),
        stop_pattern=pattern_of[by_stop], stop_pattern_pos=pos[by_stop].astype(np.int32),
        transfer_ptr=transfer_ptr, transfer_stop=transfer_stop, transfer_s=transfer_s,
        stop_ids=stop_ids, stop_names=stop_names, pattern_route_id=tuple(route_of),
        route_names=rows.route_names, trip_ids=tuple(trip_ids),
        freq_trip_ids=tuple(w[3] for w in windows_all), service_date=service_date,
        walk=walk, frequencies=frequencies, feed_sha256=feed_sha256,
        dropped_trips=rows.dropped)
