"""Router benchmark: ours vs ferrobus and pyraptor on the expanded Nairobi feed, one run.

    .venv/bin/python -m bench.router [--queries 1000] [--pyraptor-queries 5] [--no-peers]

Queries are seeded random stop-to-stop earliest-arrival queries departing 07:00-09:00 on
2019-11-05 (``bench.router.peers.random_queries``, the same list for every router). Every
router gets the same rules: board at the origin stop, alight at the destination stop,
walking transfers up to 500 m (straight line x 1.3 at 1.2 m/s), walking the whole way when
the two stops are at most 1,000 m apart. Our answers are checked against the slow
reference connection scan of ``tests/router_reference.py`` (equal to the second; its
compiled twin, itself checked against networkx Dijkstra on random feeds in the tests).

Ours runs twice: on the feed as published (headway windows, offset 0: the same vehicles
as the expanded feed) and on the expanded feed's 34,856 explicit trips. Times are wall
time around the routing call only, as the peers' are (``bench/router/peers.py``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
NAIROBI = REPO.parent / "shared" / "data" / "nairobi-gtfs" / "gtfs.zip"
DAY = dt.date(2019, 11, 5)


def _ms(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def _time_build(feed_path: Path) -> dict[str, float]:
    """Timetable build from the zip, and load from the disk cache (s)."""
    import tempfile

    from gtfs_out.read import read_feed
    from gtfs_out.timetable_cache import load_timetable
    from transit.timetable import build_timetable

    read_feed(feed_path)  # warm the file cache and imports
    t0 = time.perf_counter()
    feed = read_feed(feed_path)
    build_timetable(feed, DAY)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    build_timetable(feed, DAY, frequencies="expand")
    expand_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        load_timetable(feed_path, DAY, folder=Path(tmp))
        t0 = time.perf_counter()
        _, hit = load_timetable(feed_path, DAY, folder=Path(tmp))
        cache_s = time.perf_counter() - t0
        assert hit
    return {"build_s": build_s, "build_expanded_s": expand_s, "cache_load_s": cache_s}


def _stop_query(tt: Any, state: Any, o: int, d: int, depart_s: int, offsets: Any) -> int | None:
    from transit.raptor import run_raptor
    from transit.timetable import UNREACHED

    got = int(run_raptor(tt, state, np.asarray([o], np.int32), np.zeros(1, np.int32),
                         np.asarray([d], np.int32), np.zeros(1, np.int32),
                         np.asarray([depart_s], np.int32), offsets,
                         destination=(float(tt.stop_lat[d]), float(tt.stop_lon[d])))[0])
    return None if got == UNREACHED else got


def _walk_only(tt: Any, o: int, d: int, depart_s: int) -> int | None:
    from transit.walk import haversine_m, walk_s_for_m

    dist = float(haversine_m(tt.stop_lat[o], tt.stop_lon[o], tt.stop_lat[d], tt.stop_lon[d]))
    return depart_s + int(walk_s_for_m(dist, tt.walk)) if dist <= tt.walk.max_access_m else None


def _best(*values: int | None) -> int | None:
    got = [v for v in values if v is not None]
    return min(got) if got else None


def run_ours(tt: Any, queries: list[tuple[str, str, int]],
             cpu_ms: list[float] | None = None) -> tuple[list[int | None], list[float]]:
    """Our stop-to-stop answers (with the walk-only candidate) and per-query wall ms.

    ``cpu_ms`` receives the CPU time of this thread per query (ms), which a loaded machine
    inflates less than wall time.
    """
    from transit.raptor import RaptorState

    state = RaptorState(tt)
    offsets = np.zeros(tt.n_freq_entries, np.int32)
    pairs = [(tt.stop_for_id(o), tt.stop_for_id(d), t) for o, d, t in queries]
    for o, d, t in pairs[:20]:            # warm-up: numba dispatch, caches
        _stop_query(tt, state, o, d, t, offsets)
    arrivals, times = [], []
    for o, d, t in pairs:
        c0 = time.thread_time_ns()
        t0 = time.perf_counter_ns()
        got = _stop_query(tt, state, o, d, t, offsets)
        times.append((time.perf_counter_ns() - t0) / 1e6)
        if cpu_ms is not None:
            cpu_ms.append((time.thread_time_ns() - c0) / 1e6)
        arrivals.append(_best(got, _walk_only(tt, o, d, t)))
    return arrivals, times


def run_reference(tt: Any, queries: list[tuple[str, str, int]]) -> list[int | None]:
    """The slow connection scan of tests/router_reference.py on the same queries."""
    from gtfs_out.read import read_feed
    from tests import router_reference as ref

    feed = read_feed(NAIROBI)
    vehicles = [v for v in ref.expand_vehicles(feed.tables, DAY) if v.arr[-1] >= 0]
    walks = ref.transfers_numpy(ref.stop_coords(feed.tables), tt.walk)
    scan = ref.CompiledScan(vehicles, walks)
    out = []
    for o, d, t in queries:
        got = scan.arrival({o: 0}, {d: 0}, t)
        out.append(_best(got, _walk_only(tt, tt.stop_for_id(o), tt.stop_for_id(d), t)))
    return out


def run_one_to_all(tt: Any, origins: list[tuple[str, int]]) -> list[float]:
    """Per-origin ms of a one-to-all search (origin point at the stop, walking access)."""
    from transit.one_to_all import access_for_point
    from transit.raptor import RaptorState, run_raptor

    state = RaptorState(tt)
    offsets = np.zeros(tt.n_freq_entries, np.int32)
    out = np.empty((1, tt.n_stops), np.int32)
    empty = np.zeros(0, np.int32)
    times = []
    for stop_id, t in origins:
        s = tt.stop_for_id(stop_id)
        access = access_for_point(tt, float(tt.stop_lat[s]), float(tt.stop_lon[s]))
        t0 = time.perf_counter_ns()
        run_raptor(tt, state, *access, empty, empty, np.asarray([t], np.int32), offsets, out)
        times.append((time.perf_counter_ns() - t0) / 1e6)
    return times


def run_journeys(tt: Any, queries: list[tuple[str, str, int]]) -> list[float]:
    """ms per door-to-door journey: 60-minute window x 5 Monte Carlo draws (300 samples)."""
    from transit.journeys import plan_journey
    from transit.raptor import RaptorState

    state = RaptorState(tt)
    times = []
    for o, d, t in queries:
        a, b = tt.stop_for_id(o), tt.stop_for_id(d)
        t0 = time.perf_counter()
        plan_journey(tt, (float(tt.stop_lat[a]), float(tt.stop_lon[a])),
                     (float(tt.stop_lat[b]), float(tt.stop_lon[b])), t, window_s=3600,
                     draws=5, seed=1, state=state)
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    p = argparse.ArgumentParser(prog="python -m bench.router", description=__doc__)
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--one-to-all", type=int, default=200)
    p.add_argument("--journeys", type=int, default=50)
    p.add_argument("--pyraptor-queries", type=int, default=5)
    p.add_argument("--reference", type=int, default=None,
                   help="queries checked against the slow reference (default: all)")
    p.add_argument("--no-peers", action="store_true", help="skip ferrobus and pyraptor")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    from bench.router import peers
    from bench.router.make_expanded_feed import ensure_expanded_feed
    from gtfs_out.read import read_feed
    from transit.timetable import build_timetable

    with_peers = not args.no_peers and (REPO / "bench" / ".peers" / "venv").is_dir()
    feed = ensure_expanded_feed(NAIROBI, service_date=DAY, with_pbf=with_peers)
    queries = peers.random_queries(feed.dir_path, args.queries, seed=args.seed)
    builds = _time_build(NAIROBI)
    tt = build_timetable(read_feed(NAIROBI), DAY)
    tt_x = build_timetable(read_feed(feed.zip_path), DAY)
    print(f"Nairobi {DAY}: {tt.n_stops:,} stops, {tt.n_patterns} patterns, "
          f"{tt.n_freq_entries} headway windows; expanded: {len(tt_x.trip_ids):,} trips")

    ours_cpu: list[float] = []
    ours, ours_ms = run_ours(tt, queries, ours_cpu)
    ours_x, ours_x_ms = run_ours(tt_x, queries)
    n_ref = len(queries) if args.reference is None else min(args.reference, len(queries))
    t0 = time.perf_counter()
    reference = run_reference(tt, queries[:n_ref])
    ref_s = time.perf_counter() - t0
    agree = sum(a == b for a, b in zip(ours[:n_ref], reference, strict=True))
    agree_x = sum(a == b for a, b in zip(ours_x[:n_ref], reference, strict=True))
    origins = [(o, t) for o, _, t in queries[:args.one_to_all]]
    ota_ms = run_one_to_all(tt, origins)
    journey_ms = run_journeys(tt, queries[:args.journeys])

    rows: list[tuple[str, str, str, str, str]] = []
    fb_med = fb_p90 = pr_med = fb_ota = float("nan")
    if with_peers:
        fb = peers.run_ferrobus(feed.dir_path, feed.osm_pbf, queries, DAY, walk=feed.walk)
        fb_med, fb_p90 = fb.median_ms, fb.p90_ms
        ota = peers.run_ferrobus_one_to_all(feed.dir_path, feed.osm_pbf, origins, DAY,
                                            walk=feed.walk)
        fb_ota = ota.median_ms
        same = sum(a == b for a, b in zip(fb.arrival_s, ours, strict=True))
        later = sum(a is not None and b is not None and a > b
                    for a, b in zip(fb.arrival_s, ours, strict=True))
        rows.append(("ferrobus arrivals equal to ours", f"{same}/{len(queries)}",
                     f"{later} later", "", ""))
        if args.pyraptor_queries:
            pr = peers.run_pyraptor(feed.dir_path, queries, DAY,
                                    max_queries=args.pyraptor_queries, walk=feed.walk)
            pr_med = pr.median_ms
            same_pr = sum(a == b for a, b in zip(pr.arrival_s, ours, strict=False))
            rows.append(("pyraptor arrivals equal to ours", f"{same_pr}/{len(pr.queries)}",
                         "", "", ""))

    def f(x: float) -> str:
        return "n/a" if x != x else f"{x:.3f}"

    print(f"\n{'figure':<44}{'ours':>12}{'ferrobus':>12}{'pyraptor':>12}")
    print(f"{'stop-to-stop query median (ms), published':<44}{f(_ms(ours_ms, 50)):>12}"
          f"{f(fb_med):>12}{f(pr_med):>12}")
    print(f"{'stop-to-stop query median (ms), expanded':<44}{f(_ms(ours_x_ms, 50)):>12}")
    print(f"{'stop-to-stop median CPU ms, published':<44}{f(_ms(ours_cpu, 50)):>12}")
    print(f"{'stop-to-stop query p90 (ms), published':<44}{f(_ms(ours_ms, 90)):>12}"
          f"{f(fb_p90):>12}")
    print(f"{'stop-to-stop query p90 (ms), expanded':<44}{f(_ms(ours_x_ms, 90)):>12}")
    print(f"{'one-to-all median (ms)':<44}{f(_ms(ota_ms, 50)):>12}{f(fb_ota):>12}")
    print(f"{'journey 60 min x 5 draws median (ms)':<44}{f(_ms(journey_ms, 50)):>12}")
    print(f"{'timetable build (s)':<44}{f(builds['build_s']):>12}")
    print(f"{'timetable build, frequencies expanded (s)':<44}"
          f"{f(builds['build_expanded_s']):>12}")
    print(f"{'timetable load from cache (s)':<44}{f(builds['cache_load_s']):>12}")
    print(f"{'agree with reference, published':<44}{f'{agree}/{n_ref}':>12}")
    print(f"{'agree with reference, expanded':<44}{f'{agree_x}/{n_ref}':>12}")
    reached = f"reached (of {len(queries)})"
    print(f"{reached:<44}{sum(a is not None for a in ours):>12}")
    for name, a, b, _, _ in rows:
        print(f"{name:<44}{a:>12}{b:>12}")
    if with_peers:
        print(f"\nratios: ferrobus median / ours = {fb_med / _ms(ours_ms, 50):.2f} "
              f"(expanded {fb_med / _ms(ours_x_ms, 50):.2f}); "
              f"pyraptor median / ours = {pr_med / _ms(ours_ms, 50):.0f}")
    print(f"(reference scan took {ref_s:.0f} s; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs)")
    return 0 if agree == n_ref and agree_x == n_ref else 1


if __name__ == "__main__":
    sys.exit(main())
