"""Peer routers for side-by-side benchmarks: ferrobus (Rust RAPTOR) and pyraptor (pure Python).

The router bench (``bench/router/__main__.py``) calls these functions from the main ``.venv``;
each peer runs in its own venv under ``bench/.peers/`` as a subprocess with JSON in and out,
so the project environment never imports a peer. Every figure is measured *inside* the peer
process around the single routing call (``time.perf_counter_ns``), so it excludes model
build, interpreter start-up and JSON exchange, which are reported separately.

How to call
-----------
::

    from bench.router.make_expanded_feed import ensure_expanded_feed
    from bench.router import peers

    feed = ensure_expanded_feed()                    # Nairobi, expanded, + footway .osm.pbf
    queries = [("0110BAA", "0110UMK", 7 * 3600), ...]  # (origin stop_id, dest stop_id, depart_s)
    fb = peers.run_ferrobus(feed.dir_path, feed.osm_pbf, queries, feed.service_date)
    fb.median_ms, fb.p90_ms, fb.arrival_s[:5], fb.build_s
    pr = peers.run_pyraptor(feed.dir_path, queries, feed.service_date, max_queries=20)
    ota = peers.run_ferrobus_one_to_all(feed.dir_path, feed.osm_pbf, [(stop, 7 * 3600)], ...)
    rng = peers.run_ferrobus_range(feed.dir_path, feed.osm_pbf, [(o, d, 25200, 28800)], ...)

``expanded_feed`` arguments accept the expanded GTFS directory or its zip (a zip is unpacked
next to itself once). Queries are ``(origin_stop_id, destination_stop_id, depart_s)`` with
``depart_s`` in seconds since service-day midnight; ``arrival_s`` comes back the same way,
``None`` when the peer finds no journey (or failed on that query: see ``errors``).

Semantics of each peer (what "the same walking" means)
------------------------------------------------------
ferrobus 0.2.1
    Walking on the .osm.pbf from ``make_expanded_feed`` reproduces ours (straight line x
    1.3 / 1.2 m/s, rounded to whole seconds): transfers between stops up to
    ``walk.max_transfer_m`` (street Dijkstra cutoff ``walk.max_transfer_s``), access/egress
    and walk-only journeys up to ``walk.max_access_m``. Origin and destination are
    TransitPoints at the stops' coordinates, built once before timing (``setup_s``).
    ``find_route`` boards only at the nearest stop of the origin point and alights at the
    nearest of the destination (ferrobus's ``MAX_CANDIDATE_STOPS = 1``), compares with
    walking the whole way, and allows ``max_transfers`` transfers. It is the speed bar, not
    a correctness reference (it is often late: see PEERS.md).
pyraptor 1.3.10
    Stock ``RaptorAlgorithm`` on a Timetable built by our adapter (its own GTFS loader wants
    the Dutch railway feed: agencies by name, calendar_dates only, trip_short_name,
    parent stations). One pyraptor Station per stop. Walking transfers: the same stop pairs
    and seconds as ferrobus's footways up to ``walk.max_transfer_m``, fed through a subclass
    that overrides only ``add_transfer_time`` (stock pyraptor only changes platforms
    within a station). No access/egress walking and no walk-only journeys. The answer is the
    best label over all rounds (``bag_star``), since pyraptor leaves later rounds empty once
    no stop is marked. ``rounds = max_transfers + 1``.

CLI::

    .venv/bin/python -m bench.router.peers --queries 50          # prints the peers' medians
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.common import ensure_peer_venvs, percentile_ms, run_worker
from bench.router.make_expanded_feed import WalkRules, ensure_expanded_feed

HERE = Path(__file__).resolve().parent
FERROBUS_WORKER = HERE / "_ferrobus_worker.py"
PYRAPTOR_WORKER = HERE / "_pyraptor_worker.py"

#: Transfers allowed by default (ferrobus's measured figures in PEERS.md use 10).
DEFAULT_MAX_TRANSFERS = 10

Query = tuple[str, str, int]
RangeQuery = tuple[str, str, int, int]


class _Timed:
    """Median and 90th-percentile times of the queries (or origins) that ran, in ms."""

    query_ms: list[float | None]
    query_cpu_ms: list[float | None]

    @property
    def median_ms(self) -> float:
        """Median time per query, ms (queries that ran)."""
        return percentile_ms([m for m in self.query_ms if m is not None], 50)

    @property
    def p90_ms(self) -> float:
        """90th-percentile time per query, ms."""
        return percentile_ms([m for m in self.query_ms if m is not None], 90)

    @property
    def median_cpu_ms(self) -> float:
        """Median process CPU time per query, ms (all threads)."""
        return percentile_ms([m for m in self.query_cpu_ms if m is not None], 50)


@dataclass
class PeerResult(_Timed):
    """One peer's answers and timings for a list of one-to-one queries.

    Attributes
    ----------
    peer
        ``"ferrobus"`` or ``"pyraptor"``.
    queries
        The queries that were run, ``(origin_stop_id, destination_stop_id, depart_s)``.
    arrival_s
        Earliest arrival per query, seconds since service-day midnight; None = no journey.
    query_ms
        Wall time of the routing call per query, milliseconds; None when it did not run.
    build_s
        Model build time in the peer process, seconds (GTFS + walking network).
    setup_s
        Per-run preparation after the build that queries reuse (ferrobus TransitPoints;
        pyraptor: none), seconds.
    errors
        Per query: None, or what went wrong (exception text, ``"worker crashed"``).
    query_cpu_ms
        Process CPU time of the routing call per query, ms (all threads). On a busy machine
        this is closer to the uncontended wall time than ``query_ms``.
    extra
        Peer-specific details (e.g. ``n_stops`` in the model, ``transfers`` per query).
    """

    peer: str
    queries: list[Any]
    arrival_s: list[int | None]
    query_ms: list[float | None]
    build_s: float
    setup_s: float = 0.0
    errors: list[str | None] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    query_cpu_ms: list[float | None] = field(default_factory=list)

    @property
    def n_reached(self) -> int:
        """Queries with an arrival."""
        return sum(a is not None for a in self.arrival_s)

    @property
    def n_failed(self) -> int:
        """Queries that raised or crashed the peer."""
        return sum(e is not None for e in self.errors)


@dataclass
class OneToAllResult(_Timed):
    """ferrobus one-to-all answers: arrival at every stop for each origin.

    ``stop_ids`` orders the columns of ``arrivals_s`` (one row per origin, only when asked
    for with ``return_arrivals=True``); ``n_reached`` counts reached stops per origin.
    """

    peer: str
    origins: list[tuple[str, int]]
    stop_ids: list[str]
    arrivals_s: list[list[int | None]] | None
    n_reached: list[int | None]
    query_ms: list[float | None]
    build_s: float
    setup_s: float
    errors: list[str | None]
    query_cpu_ms: list[float | None] = field(default_factory=list)


def gtfs_dir(expanded_feed: Path | str) -> Path:
    """Directory of an expanded feed; a zip is unpacked once beside itself (``<zip>.d/``)."""
    path = Path(expanded_feed)
    if path.is_dir():
        return path
    if not zipfile.is_zipfile(path):
        raise FileNotFoundError(f"not a GTFS directory or zip: {path}")
    out = path.with_name(path.name + ".d")
    if not (out / "stop_times.txt").exists():
        with zipfile.ZipFile(path) as zf:
            zf.extractall(out)
    return out


def read_stop_coords(feed_dir: Path) -> dict[str, tuple[float, float]]:
    """stop_id -> (lat, lon) from a GTFS directory's stops.txt, in file order."""
    stops = pd.read_csv(feed_dir / "stops.txt", dtype=str, keep_default_na=False)
    return {
        sid: (float(lat), float(lon))
        for sid, lat, lon in zip(stops["stop_id"], stops["stop_lat"], stops["stop_lon"],
                                 strict=True)
    }


def _ferrobus_request(feed_dir: Path, osm_pbf: Path, date: dt.date | None, walk: WalkRules,
                      max_transfers: int, max_nearest_stops: int,
                      stops: dict[str, tuple[float, float]]) -> dict[str, Any]:
    return {
        "osm": str(osm_pbf), "gtfs_dir": str(feed_dir),
        "date": date.isoformat() if date else None,
        "max_transfer_s": walk.max_transfer_s, "access_s": walk.max_access_s,
        "max_nearest_stops": max_nearest_stops, "max_transfers": max_transfers,
        "stops": {k: list(v) for k, v in stops.items()},
    }


def _run_resumable(python: Path, script: Path, request: dict[str, Any], n: int,
                   timeout_s: float | None, threads: int | None = None,
                   ) -> tuple[dict[int, dict[str, Any]], dict[str, Any]]:
    """Run a worker over ``n`` queries; on a crash, record it and restart after that query."""
    results: dict[int, dict[str, Any]] = {}
    events: dict[str, Any] = {}
    start = 0
    while start < n:
        request["start"] = start
        env = None if threads is None else {"RAYON_NUM_THREADS": str(threads)}
        records, code, err = run_worker(python, script, request, timeout_s=timeout_s, env=env)
        for rec in records:
            if "event" in rec:
                events.setdefault(rec["event"], rec)
            else:
                results[int(rec["i"])] = rec
        done = any(r.get("event") == "done" for r in records)
        if done:
            break
        ran = [i for i in results if i >= start]
        crashed_at = (max(ran) + 1) if ran else start
        if crashed_at >= n:
            break
        if "build" not in {r.get("event") for r in records}:
            raise RuntimeError(f"{script.name} failed before routing (exit {code}): {err}")
        results[crashed_at] = {"i": crashed_at, "ms": None,
                               "error": f"worker crashed (exit {code}): {err[-300:]}"}
        start = crashed_at + 1
    return results, events


def run_ferrobus(
    expanded_feed: Path | str,
    osm_pbf: Path | str,
    queries: Sequence[Query],
    date: dt.date | None,
    *,
    walk: WalkRules | Any | None = None,
    max_transfers: int = DEFAULT_MAX_TRANSFERS,
    max_nearest_stops: int = 10,
    threads: int | None = None,
    timeout_s: float | None = 1800,
) -> PeerResult:
    """Run ferrobus ``find_route`` on each query (see the module docstring for semantics).

    Parameters
    ----------
    expanded_feed
        Expanded GTFS directory or zip (``ensure_expanded_feed().dir_path``).
    osm_pbf
        The footway network written for the same ``walk`` rules.
    queries
        ``(origin_stop_id, destination_stop_id, depart_s)``.
    date
        Service date (ferrobus filters calendar/calendar_dates by it); None = all services.
    walk
        Walking rules the .osm.pbf was built with (cutoffs); ``WalkRules()`` when None.
    max_transfers
        Transfers allowed.
    max_nearest_stops
        Stops each TransitPoint keeps (ferrobus's default 10; only the nearest is used by
        ``find_route``).
    threads
        ``RAYON_NUM_THREADS`` for ferrobus (its model build and batch calls are parallel);
        None leaves rayon's default (all CPUs).
    timeout_s
        Kill a worker that runs longer than this, seconds.
    """
    walk = WalkRules.coerce(walk)
    feed_dir = gtfs_dir(expanded_feed)
    python = ensure_peer_venvs(["ferrobus"])["ferrobus"]
    coords = read_stop_coords(feed_dir)
    needed = sorted({q[0] for q in queries} | {q[1] for q in queries})
    unknown = [s for s in needed if s not in coords]
    if unknown:
        raise KeyError(f"stop_ids not in {feed_dir / 'stops.txt'}: {unknown[:5]}")
    req = _ferrobus_request(feed_dir, Path(osm_pbf), date, walk, max_transfers,
                            max_nearest_stops, {s: coords[s] for s in needed})
    req["command"] = "route"
    req["queries"] = [[o, d, int(t)] for o, d, t in queries]
    results, events = _run_resumable(python, FERROBUS_WORKER, req, len(queries), timeout_s,
                                     threads)
    rows = [results.get(i, {"error": "not run"}) for i in range(len(queries))]
    return PeerResult(
        peer="ferrobus",
        queries=list(queries),
        arrival_s=[r.get("arrival_s") for r in rows],
        query_ms=[r.get("ms") for r in rows],
        query_cpu_ms=[r.get("cpu_ms") for r in rows],
        build_s=float(events.get("build", {}).get("build_s", float("nan"))),
        setup_s=float(events.get("points", {}).get("setup_s", float("nan"))),
        errors=[r.get("error") for r in rows],
        extra={"n_stops": events.get("build", {}).get("n_stops"),
               "transfers": [r.get("transfers") for r in rows],
               "max_transfers": max_transfers},
    )


def run_ferrobus_one_to_all(
    expanded_feed: Path | str,
    osm_pbf: Path | str,
    origins: Sequence[tuple[str, int]],
    date: dt.date | None,
    *,
    walk: WalkRules | Any | None = None,
    max_transfers: int = DEFAULT_MAX_TRANSFERS,
    max_nearest_stops: int = 10,
    return_arrivals: bool = False,
    threads: int | None = None,
    timeout_s: float | None = 1800,
) -> OneToAllResult:
    """ferrobus ``find_routes_one_to_many`` from each origin stop to every stop of the feed.

    Every stop gets a TransitPoint once (``setup_s``); each origin's time is the one call.
    ``origins`` are ``(origin_stop_id, depart_s)``. Set ``return_arrivals`` to get the
    per-stop arrival matrix (ordered by ``stop_ids``) for cross-checks.
    """
    walk = WalkRules.coerce(walk)
    feed_dir = gtfs_dir(expanded_feed)
    python = ensure_peer_venvs(["ferrobus"])["ferrobus"]
    coords = read_stop_coords(feed_dir)
    req = _ferrobus_request(feed_dir, Path(osm_pbf), date, walk, max_transfers,
                            max_nearest_stops, coords)
    req["command"] = "one_to_all"
    req["return_arrivals"] = return_arrivals
    req["queries"] = [[o, int(t)] for o, t in origins]
    results, events = _run_resumable(python, FERROBUS_WORKER, req, len(origins), timeout_s,
                                     threads)
    rows = [results.get(i, {"error": "not run"}) for i in range(len(origins))]
    return OneToAllResult(
        peer="ferrobus",
        origins=list(origins),
        stop_ids=list(events.get("targets", {}).get("stop_ids", [])),
        arrivals_s=[r.get("arrivals_s") for r in rows] if return_arrivals else None,
        n_reached=[r.get("n_reached") for r in rows],
        query_ms=[r.get("ms") for r in rows],
        query_cpu_ms=[r.get("cpu_ms") for r in rows],
        build_s=float(events.get("build", {}).get("build_s", float("nan"))),
        setup_s=float(events.get("points", {}).get("setup_s", float("nan"))),
        errors=[r.get("error") for r in rows],
    )


def run_ferrobus_range(
    expanded_feed: Path | str,
    osm_pbf: Path | str,
    queries: Sequence[RangeQuery],
    date: dt.date | None,
    *,
    walk: WalkRules | Any | None = None,
    max_transfers: int = DEFAULT_MAX_TRANSFERS,
    max_nearest_stops: int = 10,
    threads: int | None = None,
    timeout_s: float | None = 1800,
) -> PeerResult:
    """ferrobus ``range_multimodal_routing`` (rRAPTOR) per ``(origin, dest, from_s, to_s)``.

    ferrobus can abort on a range query with no journey; each query's failure is recorded in
    ``errors`` (an abort kills the worker, which is restarted after that query).
    ``arrival_s`` is None here; ``extra["median_travel_s"]``, ``extra["departures_s"]`` and
    ``extra["travel_times_s"]`` hold ferrobus's answers per query.
    """
    walk = WalkRules.coerce(walk)
    feed_dir = gtfs_dir(expanded_feed)
    python = ensure_peer_venvs(["ferrobus"])["ferrobus"]
    coords = read_stop_coords(feed_dir)
    needed = sorted({q[0] for q in queries} | {q[1] for q in queries})
    req = _ferrobus_request(feed_dir, Path(osm_pbf), date, walk, max_transfers,
                            max_nearest_stops, {s: coords[s] for s in needed if s in coords})
    req["command"] = "range"
    req["queries"] = [[o, d, int(a), int(b)] for o, d, a, b in queries]
    results, events = _run_resumable(python, FERROBUS_WORKER, req, len(queries), timeout_s,
                                     threads)
    rows = [results.get(i, {"error": "not run"}) for i in range(len(queries))]
    return PeerResult(
        peer="ferrobus-range",
        queries=list(queries),
        arrival_s=[None] * len(queries),
        query_ms=[r.get("ms") for r in rows],
        query_cpu_ms=[r.get("cpu_ms") for r in rows],
        build_s=float(events.get("build", {}).get("build_s", float("nan"))),
        setup_s=float(events.get("points", {}).get("setup_s", float("nan"))),
        errors=[r.get("error") for r in rows],
        extra={"median_travel_s": [r.get("median_travel_s") for r in rows],
               "departures_s": [r.get("departures_s") for r in rows],
               "travel_times_s": [r.get("travel_times_s") for r in rows]},
    )


def run_pyraptor(
    expanded_feed: Path | str,
    queries: Sequence[Query],
    date: dt.date | None,
    *,
    max_queries: int = 20,
    walk: WalkRules | Any | None = None,
    max_transfers: int = DEFAULT_MAX_TRANSFERS,
    rounds: int | None = None,
    timeout_s: float | None = 3600,
) -> PeerResult:
    """Run stock pyraptor RAPTOR on the first ``max_queries`` queries (it takes seconds each).

    See the module docstring for the adapter and the walking it gets. ``date`` selects the
    trips whose service runs that day (calendar.txt + calendar_dates.txt); None keeps all.
    ``rounds`` defaults to ``max_transfers + 1``; pyraptor deep-copies its labels of every
    round in every round, so its query time grows with the square of ``rounds``. Loading the
    expanded Nairobi feed takes ~1-2 min (``build_s``). The returned result holds only the
    queries that were run.
    """
    walk = WalkRules.coerce(walk)
    feed_dir = gtfs_dir(expanded_feed)
    python = ensure_peer_venvs(["pyraptor"])["pyraptor"]
    sample = list(queries)[:max_queries]
    req = {
        "command": "route", "gtfs_dir": str(feed_dir),
        "date": date.isoformat() if date else None,
        "rounds": rounds or max_transfers + 1,
        "transfers": _transfer_pairs(feed_dir, walk),
        "queries": [[o, d, int(t)] for o, d, t in sample],
    }
    results, events = _run_resumable(python, PYRAPTOR_WORKER, req, len(sample), timeout_s)
    rows = [results.get(i, {"error": "not run"}) for i in range(len(sample))]
    return PeerResult(
        peer="pyraptor",
        queries=sample,
        arrival_s=[r.get("arrival_s") for r in rows],
        query_ms=[r.get("ms") for r in rows],
        query_cpu_ms=[r.get("cpu_ms") for r in rows],
        build_s=float(events.get("build", {}).get("build_s", float("nan"))),
        errors=[r.get("error") for r in rows],
        extra={"rounds": rounds or max_transfers + 1,
               "n_trips": events.get("build", {}).get("n_trips"),
               "n_transfers": len(req["transfers"])},
    )


def _transfer_pairs(feed_dir: Path, walk: WalkRules) -> list[list[Any]]:
    """Directed stop pairs within ``walk.max_transfer_m`` and their walk seconds (rounded)."""
    from sklearn.neighbors import BallTree

    from bench.common import haversine_m

    coords = read_stop_coords(feed_dir)
    ids = list(coords)
    ll = np.array([coords[s] for s in ids])
    tree = BallTree(np.radians(ll), metric="haversine")
    neigh = tree.query_radius(np.radians(ll), walk.max_transfer_m / walk.earth_radius_m)
    out: list[list[Any]] = []
    for i, nb in enumerate(neigh):
        nb = np.sort(nb[nb != i])
        if not len(nb):
            continue
        d = haversine_m(ll[i, 0], ll[i, 1], ll[nb, 0], ll[nb, 1], radius_m=walk.earth_radius_m)
        secs = np.rint(walk.walk_s(d)).astype(int)
        out += [[ids[i], ids[j], int(s)] for j, s, dd in zip(nb, secs, d, strict=True)
                if dd <= walk.max_transfer_m]
    return out


def check_ferrobus_walking(
    feed_dir: Path,
    osm_pbf: Path,
    date: dt.date | None,
    *,
    walk: WalkRules | Any | None = None,
    n_origins: int = 300,
    seed: int = 0,
) -> dict[str, Any]:
    """Compare ferrobus's walk-only times with ours on stop pairs within ``max_access_m``.

    Queries depart at 03:00, before any service, so ferrobus answers by walking alone; ours
    is ``rint(distance_m * detour_factor / walk_speed_mps)``. Returns counts of pairs where
    ferrobus is equal, 1 s off, or further off, and the worst difference (s). ferrobus
    routes on a street graph, so a chain of footways through nearly collinear stops can be
    shorter by the per-edge rounding (1 s per extra footway); ours never chains walks.
    """
    from sklearn.neighbors import BallTree

    from bench.common import haversine_m

    walk = WalkRules.coerce(walk)
    coords = read_stop_coords(feed_dir)
    ids = list(coords)
    ll = np.array([coords[s] for s in ids])
    rng = np.random.default_rng(seed)
    origins = rng.choice(len(ids), min(n_origins, len(ids)), replace=False)
    tree = BallTree(np.radians(ll), metric="haversine")
    neigh = tree.query_radius(np.radians(ll[origins]), walk.max_access_m / walk.earth_radius_m)
    queries: list[Query] = []
    expected: list[int] = []
    for i, nb in zip(origins, neigh, strict=True):
        nb = [j for j in nb if (ll[j] != ll[i]).any()]
        for j in rng.permutation(nb)[:2]:
            d = float(haversine_m(ll[i, 0], ll[i, 1], ll[j, 0], ll[j, 1],
                                  radius_m=walk.earth_radius_m))
            queries.append((ids[i], ids[j], 3 * 3600))
            expected.append(int(np.rint(walk.walk_s(d))))
    res = run_ferrobus(feed_dir, osm_pbf, queries, date, walk=walk)
    diff = [None if a is None else a - q[2] - e
            for a, q, e in zip(res.arrival_s, queries, expected, strict=True)]
    got = [d for d in diff if d is not None]
    return {
        "n_pairs": len(queries),
        "equal": sum(d == 0 for d in got),
        "off_by_1s": sum(abs(d) == 1 for d in got),
        "off_more": sum(abs(d) > 1 for d in got),
        "unreached": sum(d is None for d in diff),
        "max_abs_diff_s": max((abs(d) for d in got), default=0),
    }


def random_queries(
    feed_dir: Path, n: int, *, seed: int = 0, window_s: tuple[int, int] = (7 * 3600, 9 * 3600)
) -> list[Query]:
    """``n`` seeded random (origin, destination, depart_s) among stops served by stop_times.

    Origin != destination; departures uniform in whole seconds over ``window_s``.
    """
    st = pd.read_csv(feed_dir / "stop_times.txt", dtype=str, usecols=["stop_id"])
    served = np.array(sorted(set(st["stop_id"])))
    rng = np.random.default_rng(seed)
    out: list[Query] = []
    while len(out) < n:
        o, d = rng.choice(len(served), 2, replace=False)
        t = int(rng.integers(window_s[0], window_s[1]))
        out.append((str(served[o]), str(served[d]), t))
    return out


def _fmt(x: float) -> str:
    if x != x:
        return "n/a"
    return f"{x:.3f}" if x < 1000 else f"{x:,.0f}"


def main(argv: list[str] | None = None) -> int:
    """CLI: run the peers on seeded random Nairobi queries and print their medians."""
    p = argparse.ArgumentParser(prog="python -m bench.router.peers",
                                description="Peer routers on the expanded Nairobi feed.")
    p.add_argument("--queries", type=int, default=50, help="one-to-one queries (ferrobus)")
    p.add_argument("--pyraptor-queries", type=int, default=3,
                   help="how many of them pyraptor runs (~15-30 s each); 0 skips it")
    p.add_argument("--one-to-all", type=int, default=20, help="one-to-all origins (ferrobus)")
    p.add_argument("--range", type=int, default=0, help="60-min range queries (ferrobus)")
    p.add_argument("--check-walk", action="store_true",
                   help="compare ferrobus walk-only times with ours on nearby stop pairs")
    p.add_argument("--threads", type=int, default=None,
                   help="RAYON_NUM_THREADS for ferrobus (default: rayon's, all CPUs)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-transfers", type=int, default=DEFAULT_MAX_TRANSFERS)
    args = p.parse_args(argv)

    t0 = time.perf_counter()
    feed = ensure_expanded_feed()
    print(f"expanded feed: {feed.n_trips:,} trips, {feed.n_stop_times:,} stop_times, "
          f"date {feed.service_date} ({time.perf_counter() - t0:.1f} s incl. cache)")
    queries = random_queries(feed.dir_path, args.queries, seed=args.seed)
    print(f"{'peer':<22}{'n':>6}{'reached':>9}{'failed':>8}{'median ms':>12}{'p90 ms':>12}"
          f"{'cpu ms':>12}{'build s':>9}")

    def row(name: str, res: PeerResult | OneToAllResult, n: int, reached: int,
            failed: int) -> None:
        print(f"{name:<22}{n:>6}{reached:>9}{failed:>8}{_fmt(res.median_ms):>12}"
              f"{_fmt(res.p90_ms):>12}{_fmt(res.median_cpu_ms):>12}{_fmt(res.build_s):>9}")

    fb = run_ferrobus(feed.dir_path, feed.osm_pbf, queries, feed.service_date,
                      walk=feed.walk, max_transfers=args.max_transfers, threads=args.threads)
    row("ferrobus one-to-one", fb, len(queries), fb.n_reached, fb.n_failed)
    if args.one_to_all:
        origins = [(o, t) for o, _, t in queries[: args.one_to_all]]
        ota = run_ferrobus_one_to_all(feed.dir_path, feed.osm_pbf, origins, feed.service_date,
                                      walk=feed.walk, max_transfers=args.max_transfers,
                                      threads=args.threads)
        failed = sum(e is not None for e in ota.errors)
        reached = int(np.median([r for r in ota.n_reached if r is not None] or [0]))
        row("ferrobus one-to-all", ota, len(origins), reached, failed)
    if args.range:
        rq = [(o, d, t, t + 3600) for o, d, t in queries[: args.range]]
        rr = run_ferrobus_range(feed.dir_path, feed.osm_pbf, rq, feed.service_date,
                                walk=feed.walk, max_transfers=args.max_transfers,
                                threads=args.threads)
        ok = sum(m is not None for m in rr.extra["median_travel_s"])
        row("ferrobus range 60 min", rr, len(rq), ok, rr.n_failed)
    if args.pyraptor_queries:
        pr = run_pyraptor(feed.dir_path, queries, feed.service_date,
                          max_queries=args.pyraptor_queries, walk=feed.walk,
                          max_transfers=args.max_transfers)
        row("pyraptor", pr, len(pr.queries), pr.n_reached, pr.n_failed)
        same = sum(a == b for a, b in zip(pr.arrival_s, fb.arrival_s, strict=False)
                   if a is not None)
        print(f"pyraptor vs ferrobus: same arrival on {same}/{pr.n_reached} reached queries")
    print(f"(ferrobus TransitPoint setup {fb.setup_s:.2f} s, reported apart from queries; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    if args.check_walk:
        chk = check_ferrobus_walking(feed.dir_path, feed.osm_pbf, feed.service_date,
                                     walk=feed.walk, seed=args.seed)
        print(f"ferrobus walking vs ours: {chk}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
