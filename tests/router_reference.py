"""Slow, obviously correct reference routers for the router tests (tests only).

They share nothing with ``transit.timetable`` or ``transit.raptor`` except the walking
"physics" (``haversine_m`` and ``walk_s_for_m``, tested on their own with arithmetic):
the feed is parsed again here in plain Python, every frequency window is expanded into
vehicles with a given start offset, and the earliest arrival is found by

* :func:`dijkstra_arrival`: networkx Dijkstra on a time-expanded graph, and
* :func:`scan_arrival`: a connection scan (Dibbelt et al. 2013) in plain Python.

Walking rules, the same as the fast router's: walk from the origin to an access stop, ride,
optionally walk one transfer (<= max_transfer_m) after each ride, ride again..., and walk
from the last stop (reached by a ride, by a transfer walk or by the access walk) to the
destination. Walks are never chained: a transfer walk only follows a ride.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd

from transit.walk import WalkParams, haversine_m, walk_s_for_m

DAY_S = 86_400
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Vehicle:
    """One vehicle run: stops with arrival/departure clock times and boarding rules."""

    trip_id: str
    stops: tuple[str, ...]
    arr: tuple[int, ...]
    dep: tuple[int, ...]
    board: tuple[bool, ...]
    alight: tuple[bool, ...]


def _hms(text: str) -> int | None:
    text = str(text).strip()
    if not text:
        return None
    h, m, s = text.split(":")
    return int(h) * 3600 + int(m) * 60 + int(s)


def _services(tables: Mapping[str, pd.DataFrame], day: dt.date) -> set[str]:
    out = set()
    cal = tables.get("calendar")
    if cal is not None:
        for row in cal.to_dict("records"):
            start = dt.datetime.strptime(row["start_date"], "%Y%m%d").date()
            end = dt.datetime.strptime(row["end_date"], "%Y%m%d").date()
            if start <= day <= end and row[WEEKDAYS[day.weekday()]] == "1":
                out.add(row["service_id"])
    dates = tables.get("calendar_dates")
    if dates is not None:
        for row in dates.to_dict("records"):
            if row["date"] == day.strftime("%Y%m%d"):
                if row["exception_type"] == "1":
                    out.add(row["service_id"])
                else:
                    out.discard(row["service_id"])
    return out


OffsetFn = Callable[[str, int], int]


def expand_vehicles(tables: Mapping[str, pd.DataFrame], day: dt.date,
                    offset: OffsetFn | None = None) -> list[Vehicle]:
    """Every vehicle running on ``day`` (and the day before, shifted by -24 h).

    ``offset(trip_id, window_start_s)`` gives the start offset of a headway window whose
    ``exact_times`` is 0 (default 0); ``window_start_s`` is already shifted.
    """
    trips = tables["trips"].to_dict("records")
    st = tables["stop_times"].copy()
    st["_seq"] = st["stop_sequence"].astype(int)
    by_trip = {tid: g.sort_values("_seq") for tid, g in st.groupby("trip_id")}
    freq: dict[str, list[tuple[int, int, int, bool]]] = {}
    ftab = tables.get("frequencies")
    if ftab is not None:
        for row in ftab.to_dict("records"):
            exact = str(row.get("exact_times", "0")).strip() == "1"
            freq.setdefault(row["trip_id"], []).append(
                (_hms(row["start_time"]) or 0, _hms(row["end_time"]) or 0,
                 int(row["headway_secs"]), exact))
    vehicles: list[Vehicle] = []
    for shift, services in ((-DAY_S, _services(tables, day - dt.timedelta(days=1))),
                            (0, _services(tables, day))):
        for trip in trips:
            if trip["service_id"] not in services or trip["trip_id"] not in by_trip:
                continue
            g = by_trip[trip["trip_id"]]
            arr = [_hms(x) for x in g["arrival_time"]]
            dep = [_hms(x) for x in g["departure_time"]]
            arr = [a if a is not None else d for a, d in zip(arr, dep, strict=True)]
            dep = [d if d is not None else a for a, d in zip(arr, dep, strict=True)]
            stops = tuple(g["stop_id"])
            board = tuple(str(x) != "1" for x in g.get("pickup_type", ["0"] * len(g)))
            alight = tuple(str(x) != "1" for x in g.get("drop_off_type", ["0"] * len(g)))
            t0 = dep[0]
            starts: list[int] = []
            if trip["trip_id"] in freq:
                for start, end, headway, exact in freq[trip["trip_id"]]:
                    off = 0 if exact or offset is None else offset(trip["trip_id"], start + shift)
                    starts += list(range(start + off, end, headway))
            else:
                starts = [t0]
            for s0 in starts:
                vehicles.append(Vehicle(
                    trip["trip_id"], stops,
                    tuple(a - t0 + s0 + shift for a in arr),
                    tuple(d - t0 + s0 + shift for d in dep), board, alight))
    return vehicles


def transfers(stops: Mapping[str, tuple[float, float]],
              walk: WalkParams) -> dict[str, list[tuple[str, int]]]:
    """All stop pairs within ``max_transfer_m`` (brute force) and their walks in seconds."""
    out: dict[str, list[tuple[str, int]]] = {s: [] for s in stops}
    for a, (la, lo) in stops.items():
        for b, (lb, lob) in stops.items():
            if a == b:
                continue
            d = float(haversine_m(la, lo, lb, lob))
            if d <= walk.max_transfer_m:
                out[a].append((b, int(walk_s_for_m(d, walk))))
    return out


def transfers_numpy(stops: Mapping[str, tuple[float, float]],
                    walk: WalkParams) -> dict[str, list[tuple[str, int]]]:
    """Same as :func:`transfers`, one numpy row per stop (for thousands of stops)."""
    ids = list(stops)
    lat = np.asarray([stops[s][0] for s in ids])
    lon = np.asarray([stops[s][1] for s in ids])
    out: dict[str, list[tuple[str, int]]] = {}
    for i, a in enumerate(ids):
        d = haversine_m(lat[i], lon[i], lat, lon)
        near = np.flatnonzero(d <= walk.max_transfer_m)
        out[a] = [(ids[j], int(walk_s_for_m(d[j], walk))) for j in near if j != i]
    return out


def dijkstra_arrival(vehicles: list[Vehicle], walks: Mapping[str, list[tuple[str, int]]],
                     access: Mapping[str, int], egress: Mapping[str, int],
                     depart_s: int) -> int | None:
    """Earliest arrival by Dijkstra on a time-expanded graph (None when unreachable)."""
    g = nx.DiGraph()
    waits: dict[str, set[int]] = {}

    def wait(stop: str, t: int) -> tuple[str, str, int]:
        waits.setdefault(stop, set()).add(t)
        return ("wait", stop, t)

    for v_i, v in enumerate(vehicles):
        n = len(v.stops)
        for i in range(n):
            if i + 1 < n:
                g.add_edge(("dep", v_i, i), ("arr", v_i, i + 1), weight=v.arr[i + 1] - v.dep[i])
            if 0 < i < n - 1:
                g.add_edge(("arr", v_i, i), ("dep", v_i, i), weight=v.dep[i] - v.arr[i])
            if v.board[i] and i + 1 < n:
                g.add_edge(wait(v.stops[i], v.dep[i]), ("dep", v_i, i), weight=0)
            if v.alight[i] and i > 0:
                land = ("land", v.stops[i], v.arr[i])
                g.add_edge(("arr", v_i, i), land, weight=0)
                g.add_edge(land, wait(v.stops[i], v.arr[i]), weight=0)
                if v.stops[i] in egress:
                    g.add_edge(land, "dst", weight=egress[v.stops[i]])
                for s2, w in walks.get(v.stops[i], []):
                    walked = ("walked", s2, v.arr[i] + w)
                    g.add_edge(land, walked, weight=w)
                    g.add_edge(walked, wait(s2, v.arr[i] + w), weight=0)
                    if s2 in egress:
                        g.add_edge(walked, "dst", weight=egress[s2])
    for stop, s_a in access.items():
        t = depart_s + s_a
        g.add_edge("src", wait(stop, t), weight=s_a)
        if stop in egress:
            g.add_edge("src", "dst", weight=min(s_a + egress[stop],
                                                g.get_edge_data("src", "dst", {"weight": 1e18})
                                                ["weight"]))
    for stop, times in waits.items():
        ordered = sorted(times)
        for a, b in itertools.pairwise(ordered):
            g.add_edge(("wait", stop, a), ("wait", stop, b), weight=b - a)
    if "dst" not in g or "src" not in g:
        return None
    try:
        return depart_s + int(nx.dijkstra_path_length(g, "src", "dst"))
    except nx.NetworkXNoPath:
        return None


def connections(vehicles: list[Vehicle]) -> list[tuple[int, int, int, int]]:
    """Every ride between consecutive stops as (dep, arr, vehicle, position), sorted."""
    conns = []
    for v_i, v in enumerate(vehicles):
        for i in range(len(v.stops) - 1):
            conns.append((v.dep[i], v.arr[i + 1], v_i, i))
    conns.sort()
    return conns


def scan_arrival(vehicles: list[Vehicle], walks: Mapping[str, list[tuple[str, int]]],
                 access: Mapping[str, int], egress: Mapping[str, int],
                 depart_s: int, conns: list[tuple[int, int, int, int]] | None = None,
                 ) -> int | None:
    """Earliest arrival by a connection scan in plain Python (None when unreachable).

    Needs every ride between consecutive stops to take at least one second.
    """
    import bisect

    conns = connections(vehicles) if conns is None else conns
    stop_t: dict[str, int] = {}
    best = None
    for stop, s_a in access.items():
        t = depart_s + s_a
        stop_t[stop] = min(stop_t.get(stop, t), t)
        if stop in egress:
            cand = t + egress[stop]
            best = cand if best is None else min(best, cand)
    riding: set[int] = set()
    for c in range(bisect.bisect_left(conns, (depart_s, -1, -1, -1)), len(conns)):
        dep, arr, v_i, i = conns[c]
        if best is not None and dep >= best:
            break
        v = vehicles[v_i]
        if v_i not in riding:
            if not v.board[i] or stop_t.get(v.stops[i], 1 << 40) > dep:
                continue
            riding.add(v_i)
        to = v.stops[i + 1]
        if not v.alight[i + 1]:
            continue
        reached = [(to, arr)] + [(s2, arr + w) for s2, w in walks.get(to, [])]
        for s, t in reached:
            if t < stop_t.get(s, 1 << 40):
                stop_t[s] = t
            if s in egress:
                cand = t + egress[s]
                best = cand if best is None else min(best, cand)
    return best


def scan_times_to_stops(vehicles: list[Vehicle], walks: Mapping[str, list[tuple[str, int]]],
                        access: Mapping[str, int], depart_s: int) -> dict[str, int]:
    """Earliest arrival at every stop (ride, transfer walk or access walk), one scan."""
    stop_t: dict[str, int] = {}
    for stop, s_a in access.items():
        stop_t[stop] = min(stop_t.get(stop, depart_s + s_a), depart_s + s_a)
    events = sorted((v.dep[i], v_i, i) for v_i, v in enumerate(vehicles)
                    for i in range(len(v.stops) - 1))
    riding: set[int] = set()
    for dep, v_i, i in events:
        if dep < depart_s:
            continue
        v = vehicles[v_i]
        if v_i not in riding:
            if not v.board[i] or stop_t.get(v.stops[i], 1 << 40) > dep:
                continue
            riding.add(v_i)
        if not v.alight[i + 1]:
            continue
        to, arr = v.stops[i + 1], v.arr[i + 1]
        for s, t in [(to, arr)] + [(s2, arr + w) for s2, w in walks.get(to, [])]:
            if t < stop_t.get(s, 1 << 40):
                stop_t[s] = t
    return stop_t


def stop_coords(tables: Mapping[str, pd.DataFrame]) -> dict[str, tuple[float, float]]:
    """stop_id -> (lat, lon) of every stop a rider can stand at (used, or a platform)."""
    used = set(tables["stop_times"]["stop_id"])
    stops = tables["stops"]
    kind = stops["location_type"] if "location_type" in stops else [""] * len(stops)
    return {sid: (float(la), float(lo)) for sid, la, lo, k in
            zip(stops["stop_id"], stops["stop_lat"], stops["stop_lon"], kind, strict=True)
            if sid in used or str(k).strip() in ("", "0")}


def within(stops: Mapping[str, tuple[float, float]], lat: float, lon: float,
           walk: WalkParams) -> dict[str, int]:
    """Stops within ``max_access_m`` of a point and the walks (s) to them."""
    out = {}
    for sid, (la, lo) in stops.items():
        d = float(haversine_m(la, lo, lat, lon))
        if d <= walk.max_access_m:
            out[sid] = int(walk_s_for_m(d, walk))
    return out


def as_array(values: list[int | None]) -> np.ndarray:
    """None -> -1, for comparing lists of arrivals."""
    return np.asarray([-1 if v is None else v for v in values], np.int64)


def tables_from_text(files: Mapping[str, str]) -> dict[str, pd.DataFrame]:
    """A feed written inline (file stem -> CSV text) as string tables, like read_feed."""
    import io
    import textwrap

    return {name: pd.read_csv(io.StringIO(textwrap.dedent(text).strip() + "\n"), dtype=str,
                              keep_default_na=False, na_values=[])
            for name, text in files.items()}


class CompiledScan:
    """The connection scan of :func:`scan_arrival` over flat arrays, compiled with numba.

    The same loop, line for line, for checking thousands of queries on a real feed; the
    random-feed tests check it against :func:`scan_arrival` and :func:`dijkstra_arrival`.
    """

    def __init__(self, vehicles: list[Vehicle],
                 walks: Mapping[str, list[tuple[str, int]]]) -> None:
        ids = sorted({s for v in vehicles for s in v.stops} | set(walks)
                     | {s2 for w in walks.values() for s2, _ in w})
        self.index = {s: i for i, s in enumerate(ids)}
        rows = sorted((v.dep[i], v.arr[i + 1], v_i, i) for v_i, v in enumerate(vehicles)
                      for i in range(len(v.stops) - 1))
        self.dep = np.asarray([r[0] for r in rows], np.int64)
        self.arr = np.asarray([r[1] for r in rows], np.int64)
        self.vehicle = np.asarray([r[2] for r in rows], np.int64)
        self.frm = np.asarray([self.index[vehicles[r[2]].stops[r[3]]] for r in rows], np.int64)
        self.to = np.asarray([self.index[vehicles[r[2]].stops[r[3] + 1]] for r in rows],
                             np.int64)
        self.board = np.asarray([vehicles[r[2]].board[r[3]] for r in rows], np.bool_)
        self.alight = np.asarray([vehicles[r[2]].alight[r[3] + 1] for r in rows], np.bool_)
        ptr, to, secs = [0], [], []
        for s in ids:
            for s2, w in walks.get(s, []):
                to.append(self.index[s2])
                secs.append(w)
            ptr.append(len(to))
        self.t_ptr = np.asarray(ptr, np.int64)
        self.t_to = np.asarray(to, np.int64)
        self.t_s = np.asarray(secs, np.int64)
        self.n_vehicles = len(vehicles)

    def arrival(self, access: Mapping[str, int], egress: Mapping[str, int],
                depart_s: int) -> int | None:
        """Earliest arrival (None when unreachable), same rules as :func:`scan_arrival`."""
        n = len(self.index)
        egress_s = np.full(n, -1, np.int64)
        for s, w in egress.items():
            egress_s[self.index[s]] = w
        a_idx = np.asarray([self.index[s] for s in access], np.int64)
        a_s = np.asarray(list(access.values()), np.int64)
        best = _compiled_scan(self.dep, self.arr, self.vehicle, self.frm, self.to, self.board,
                              self.alight, self.t_ptr, self.t_to, self.t_s, a_idx, a_s,
                              egress_s, depart_s, self.n_vehicles)
        return None if best < 0 else int(best)


def _scan_kernel(dep, arr, vehicle, frm, to, board, alight, t_ptr, t_to, t_s,  # type: ignore[no-untyped-def]
                 a_idx, a_s, egress_s, depart_s, n_vehicles):
    big = 1 << 40
    stop_t = np.full(egress_s.shape[0], big, np.int64)
    best = big
    for j in range(a_idx.shape[0]):
        s = a_idx[j]
        t = depart_s + a_s[j]
        stop_t[s] = min(stop_t[s], t)
        if egress_s[s] >= 0:
            best = min(best, t + egress_s[s])
    riding = np.zeros(n_vehicles, np.bool_)
    for c in range(np.searchsorted(dep, depart_s), dep.shape[0]):
        if dep[c] >= best:
            break
        v = vehicle[c]
        if not riding[v]:
            if not board[c] or stop_t[frm[c]] > dep[c]:
                continue
            riding[v] = True
        if not alight[c]:
            continue
        s = to[c]
        t = arr[c]
        stop_t[s] = min(stop_t[s], t)
        if egress_s[s] >= 0:
            best = min(best, t + egress_s[s])
        for q in range(t_ptr[s], t_ptr[s + 1]):
            s2 = t_to[q]
            t2 = t + t_s[q]
            stop_t[s2] = min(stop_t[s2], t2)
            if egress_s[s2] >= 0:
                best = min(best, t2 + egress_s[s2])
    return -1 if best == big else best


def _compiled(fn):  # type: ignore[no-untyped-def]
    from numba import njit

    return njit(cache=True)(fn)


_compiled_scan = _compiled(_scan_kernel)
