"""Accessibility benchmark: all 85 Nairobi wards, health facilities + schools, 60-min window.

Run ``.venv/bin/python -m bench.access`` (full run: every origin at 250 m spacing, 5 draws,
departing 07:00 over 60 minutes on 2019-11-05, two workers). Prints, side by side:

* our wall time per step and for the whole run, the routing cost per origin (wall and
  CPU: wall x workers / origins) and the share of it spent in RAPTOR;
* how the cost grows with the number of origins and with the window (on a fixed random
  sample of origins);
* ferrobus (Rust RAPTOR, its own venv under ``bench/.peers``) on the same origins: it has
  no headway-based service, so it routes on the feed expanded to scheduled trips (one
  draw), from the stop nearest each origin, one one-to-all query per departure minute.
  That is the cost of the router part of the same measure; its answers are not compared
  (ferrobus is often late: see ``../shared/PEERS.md``).

``--sample N`` measures N random origins instead of all of them and extrapolates the full
run (the printout says so). Results are also written to ``bench/results/access.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time
from typing import Any

import numpy as np

from api.access_io import read_districts, read_opportunities
from api.access_run import run_origins
from bench.common import REPO, SHARED_DATA
from gtfs_out.read import read_feed
from transit.access import AccessSpec, build_destinations, measure_origins
from transit.access_origins import build_origins
from transit.one_to_all import access_for_point, draw_offsets, travel_times_to_stops
from transit.raptor import RaptorState
from transit.timetable import build_timetable
from transit.walk import haversine_m

DAY = dt.date(2019, 11, 5)
RESULTS = REPO / "bench" / "results" / "access.json"


def _timed(fn: Any, *args: Any, **kw: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def _growth(tt: Any, dest: Any, lat: np.ndarray, lon: np.ndarray, draws: int,
            window_min: int, out: dict[str, Any]) -> None:
    """Cost per origin against the window, and total time against the number of origins."""
    rows = []
    for w in (0, 15, 30, 60, 120):
        spec = AccessSpec(7 * 3600, w * 60, draws, 0, (1800, 2700, 3600))
        offsets = draw_offsets(tt, draws, 0)
        _, secs = _timed(measure_origins, tt, lat, lon, dest, spec, offsets)
        rows.append({"window_min": w, "samples": spec.n_departures * offsets.shape[0],
                     "ms_per_origin": round(1000 * secs / lat.size, 1)})
        print(f"  window {w:>3} min  samples {rows[-1]['samples']:>4}  "
              f"{rows[-1]['ms_per_origin']:>7.1f} ms per origin (1 worker)")
    out["growth_window"] = rows
    spec = AccessSpec(7 * 3600, window_min * 60, draws, 0, (1800, 2700, 3600))
    offsets = draw_offsets(tt, draws, 0)
    rows = []
    for n in (lat.size // 4, lat.size // 2, lat.size):
        _, secs = _timed(measure_origins, tt, lat[:n], lon[:n], dest, spec, offsets)
        rows.append({"origins": n, "seconds": round(secs, 2)})
        print(f"  {n:>5} origins  {secs:7.2f} s  ({1000 * secs / n:.1f} ms per origin)")
    out["growth_origins"] = rows


def _raptor_share(tt: Any, lat: np.ndarray, lon: np.ndarray, spec: AccessSpec,
                  offsets: np.ndarray) -> float:
    """Seconds per origin spent in the router alone (travel_times_to_stops, searching up
    to the largest threshold as the measure does)."""
    state = RaptorState(tt)
    t0 = time.perf_counter()
    for la, lo in zip(lat, lon, strict=True):
        if access_for_point(tt, float(la), float(lo))[0].size:
            travel_times_to_stops(tt, state, float(la), float(lo), spec.depart_s,
                                  spec.window_s, offsets_s=offsets,
                                  max_duration_s=max(spec.thresholds_s))
    return (time.perf_counter() - t0) / lat.size


def _ferrobus(tt: Any, lat: np.ndarray, lon: np.ndarray, window_min: int,
              out: dict[str, Any]) -> None:
    try:
        from bench.router import peers
        from bench.router.make_expanded_feed import ensure_expanded_feed
        feed = ensure_expanded_feed()
    except Exception as exc:  # a peer that cannot run must not take the bench down
        print(f"  ferrobus: not run ({exc})")
        out["ferrobus"] = {"error": str(exc)}
        return
    stops = [int(np.argmin(haversine_m(tt.stop_lat, tt.stop_lon, a, b)))
             for a, b in zip(lat, lon, strict=True)]
    queries = [(tt.stop_ids[s], 7 * 3600 + 60 * m) for s in stops for m in range(window_min)]
    try:
        res = peers.run_ferrobus_one_to_all(feed.dir_path, feed.osm_pbf, queries,
                                            feed.service_date, threads=1)
    except Exception as exc:
        print(f"  ferrobus: failed ({exc})")
        out["ferrobus"] = {"error": str(exc)}
        return
    ms = [m for m in res.query_ms if m is not None]
    per_origin = float(np.sum(ms)) / len(stops) if ms else float("nan")
    out["ferrobus"] = {"origins": len(stops), "queries": len(queries),
                       "median_ms_per_departure": round(res.median_ms, 2),
                       "ms_per_origin_60_departures": round(per_origin, 1),
                       "build_s": round(res.build_s, 2),
                       "failed": sum(e is not None for e in res.errors)}
    print(f"  ferrobus one-to-all (expanded feed, 1 draw): {res.median_ms:.2f} ms per "
          f"departure, {per_origin:.0f} ms per origin for {window_min} departures "
          f"({out['ferrobus']['failed']} failed queries)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.access", description=__doc__)
    ap.add_argument("--sample", type=int, default=0, help="random origins (0: all)")
    ap.add_argument("--spacing", type=float, default=250.0)
    ap.add_argument("--window", type=int, default=60)
    ap.add_argument("--draws", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--backend", default="threads", choices=["threads", "processes", "dask"])
    ap.add_argument("--growth-sample", type=int, default=48)
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--no-growth", action="store_true")
    args = ap.parse_args(argv)
    data = SHARED_DATA
    out: dict[str, Any] = {"date": DAY.isoformat(), "cpus": os.cpu_count(),
                           "load_avg_1min": round(os.getloadavg()[0], 2)}
    tables, t_read = _timed(read_feed, data / "nairobi-gtfs" / "gtfs.zip")
    tt, t_build = _timed(build_timetable, tables, DAY)
    wards, t_wards = _timed(read_districts,
                            data / "nairobi-wards" / "nairobi_wards_pop2009.geojson",
                            "pop2009", "ward")
    opp_dir = data / "nairobi-opportunities"
    opps, t_opps = _timed(read_opportunities,
                          [opp_dir / "health_facilities.csv", opp_dir / "schools.csv"])
    origins, t_origins = _timed(build_origins, list(wards.geometries), wards.population,
                                args.spacing)
    dest, t_dest = _timed(build_destinations, tt, opps.lat, opps.lon, opps.members)
    spec = AccessSpec(7 * 3600, args.window * 60, args.draws, 0, (1800, 2700, 3600))
    offsets = draw_offsets(tt, args.draws, 0)
    rng = np.random.default_rng(0)
    n_all = origins.size
    pick = (np.sort(rng.choice(n_all, args.sample, replace=False)) if 0 < args.sample < n_all
            else np.arange(n_all))
    measure_origins(tt, origins.lat[:2], origins.lon[:2], dest, spec, offsets)   # compile
    (_, ran_on), t_measure = _timed(run_origins, tt, origins.lat[pick], origins.lon[pick],
                                    dest, spec, offsets, backend=args.backend,
                                    workers=args.workers)
    per_origin_wall = t_measure / pick.size
    routed = sum(bool(access_for_point(tt, float(a), float(b))[0].size)
                 for a, b in zip(origins.lat[pick], origins.lon[pick], strict=True))
    full_measure = per_origin_wall * n_all
    setup = t_read + t_build + t_wards + t_opps + t_origins + t_dest
    out.update({
        "origins": n_all, "measured_origins": int(pick.size), "spacing_m": args.spacing,
        "window_min": args.window, "draws": args.draws, "workers": args.workers,
        "ran_on": ran_on, "opportunities": {k: int(v.size) for k, v in opps.members.items()},
        "seconds": {"read_feed": t_read, "build_timetable": t_build, "read_wards": t_wards,
                    "read_opportunities": t_opps, "origins": t_origins,
                    "egress_walks": t_dest, "measure": t_measure},
        "origins_with_a_stop_within_reach": int(routed),
        "ms_per_origin_wall": round(1000 * per_origin_wall, 2),
        "cpu_ms_per_origin": round(1000 * per_origin_wall * args.workers, 2),
        "total_s" + ("_extrapolated" if pick.size < n_all else ""): round(setup + full_measure,
                                                                          1),
    })
    print(f"Nairobi: {len(wards.names)} wards, {n_all} origins at {args.spacing:g} m, "
          f"{sum(out['opportunities'].values())} opportunities, window {args.window} min x "
          f"{args.draws} draws = {spec.n_departures * offsets.shape[0]} samples per origin; "
          f"{ran_on}; load average {out['load_avg_1min']} on {out['cpus']} CPUs; "
          f"{routed} of the {pick.size} measured origins have a stop within walking reach "
          "(the others are walk-only)")
    for name, secs in out["seconds"].items():
        print(f"  {name:<20} {secs:8.2f} s")
    label = "extrapolated from " + str(pick.size) if pick.size < n_all else "measured"
    print(f"  routing cost per origin: {out['ms_per_origin_wall']:.1f} ms wall, "
          f"{out['cpu_ms_per_origin']:.1f} CPU-ms; whole run {setup + full_measure:.1f} s "
          f"({label}); target < 60 s")
    growth_idx = pick[np.linspace(0, pick.size - 1, min(args.growth_sample, pick.size))
                      .astype(int)]
    router_s = _raptor_share(tt, origins.lat[growth_idx], origins.lon[growth_idx], spec,
                             offsets)
    one_s = t_measure * args.workers / pick.size
    out["router_ms_per_origin_1_worker"] = round(1000 * router_s, 1)
    print(f"  of which the router (travel_times_to_stops): {1000 * router_s:.1f} ms per "
          "origin on one worker")
    if not args.no_growth:
        print("growth (fixed sample, one worker):")
        _growth(tt, dest, origins.lat[growth_idx], origins.lon[growth_idx], args.draws,
                args.window, out)
    if not args.no_peers:
        print("peers:")
        _ferrobus(tt, origins.lat[growth_idx[:12]], origins.lon[growth_idx[:12]], args.window,
                  out)
        print(f"  ours: {1000 * one_s:.0f} CPU-ms per origin for "
              f"{spec.n_departures * offsets.shape[0]} samples "
              f"({1000 * one_s / (spec.n_departures * offsets.shape[0]):.2f} ms per sample)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=1, default=float) + "\n")
    print(f"written {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

