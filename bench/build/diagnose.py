"""Where does the builder lose accuracy on the simulated Nairobi rides? A diagnostic.

Run with ``.venv/bin/python -m bench.build.diagnose --seed 0`` (``--help`` for options).
It simulates, reads, cleans and builds exactly as ``python -m bench.build`` does, scores the
build with :func:`transit.evaluate.evaluate_network`, then prints

* **run times per band**: median absolute and median *signed* error (%) of the built run
  times against the truth, over the same stop pairs the evaluator compares;
* **run times per pattern**: the same per recovered truth pattern (worst first);
* **stop instants per ride**: the error (s) of every ride's estimated arrival and departure
  at each built stop against the simulator's own arrival/departure clock times, split by how
  the builder timed the stop (dwell detected, pass-by, interpolated) and whether the vehicle
  really halted there;
* **unrecovered patterns**: every truth stop the best built pattern misses (stops matched
  per pair of patterns, as the evaluator does), classified as *no built stop within 30 m*
  (with a kept stop candidate that no pattern holds: a pattern-logic miss; else a
  stop-detection miss: a candidate the traffic filter dropped, only a candidate of the
  opposite direction (the rides' dwells may have joined it), or no candidate at all),
  *merged with another stop of the pattern* (the
  pattern's only built stop there stands for a neighbouring truth stop: stop detection),
  *built stop not in the pattern* (pattern logic; with how many of the pattern's rides
  served it) or *out of order*; the built pattern's extra stops; and how many
  unrecovered patterns would pass with perfect stops or with perfect pattern logic.

The per-ride capture wraps :func:`transit.region.ride_times` (and the traffic filter, to see
every stop candidate) for the duration of the build (read-only: it records what the builder
computed, it changes nothing).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import SHARED_DATA


def recording_projection(store: dict[str, Any]) -> Any:
    """A subclass of the region's current ``LocalProjection`` that keeps the last plane it
    makes in ``store["projection"]`` (to place the region's candidates); patch it in."""
    import transit.region as region

    base = region.LocalProjection

    class _Projection(base):  # type: ignore[misc,valid-type]
        @classmethod
        def around(cls, lat: Any, lon: Any) -> Any:
            store["projection"] = base.around(lat, lon)
            return store["projection"]

    return _Projection


@contextmanager
def _capture_rides(log: list[dict[str, Any]]) -> Iterator[None]:
    """Record every pattern's per-ride stop times while the builder runs."""
    import transit.region as region

    orig_emit, orig_times, orig_ids = region._emit_pattern, region.ride_times, region._stop_ids
    orig_keep, orig_proj = region._keep_candidates, region.LocalProjection
    current: dict[str, Any] = {}
    projection = recording_projection(current)

    def keep(cand: Any, passing: Any, *args: Any, **kw: Any) -> Any:
        out = orig_keep(cand, passing, *args, **kw)
        lat, lon = current["projection"].inverse(cand.x_m, cand.y_m)
        log.append({"all_candidates": (lat, lon, np.array(cand.heading_deg), np.array(out),
                                       np.array(cand.support_traces), np.array(passing))})
        return out

    def ids(lat: Any, lon: Any, heading: Any) -> Any:
        log.append({"candidates": (np.array(lat), np.array(lon), np.array(heading))})
        return orig_ids(lat, lon, heading)

    def emit(res: Any, pending: Any, g: Any, direction: int, route_id: str, segments: Any,
             visits: Any, *args: Any, **kw: Any) -> None:
        current.update(rides=[], segments=segments, members=list(g.members))
        orig_emit(res, pending, g, direction, route_id, segments, visits, *args, **kw)
        stop_ids = args[4]
        seen = Counter(stop_ids[s] for m in g.members for s in set(visits[m].stop.tolist()))
        log.append({"pattern_id": pending[-1].pattern.pattern_id,
                    "stop_ids": [stop_ids[i] for i in g.stops], "rides_serving": seen,
                    "traces": [segments[m].trace.trace_key for m in g.members],
                    "rides": current["rides"]})

    def times(*args: Any, **kw: Any) -> Any:
        out = orig_times(*args, **kw)
        current["rides"].append(out)
        return out

    region._emit_pattern, region.ride_times = emit, times  # type: ignore[assignment]
    region._stop_ids = ids  # type: ignore[assignment]
    region._keep_candidates, region.LocalProjection = keep, projection  # type: ignore[assignment]
    try:
        yield
    finally:
        region._emit_pattern, region.ride_times = orig_emit, orig_times  # type: ignore[assignment]
        region._stop_ids = orig_ids  # type: ignore[assignment]
        region._keep_candidates, region.LocalProjection = orig_keep, orig_proj  # type: ignore[misc]


def _signed_run_errors(built: Any, truth: Any, ev: dict[str, Any],
                       mapping: Any) -> list[tuple[str, str, float, float]]:
    """``(truth pattern, band, signed % error, truth s)`` over the evaluator's stop pairs."""
    from transit.evaluate import _lcs_pairs, run_time_pairs

    bp_of = {p.pattern_id: p for p in built.patterns}
    tp_of = {p.pattern_id: p for p in truth.patterns}
    out = []
    for row in ev["patterns"]["details"]:
        if not row["recovered"]:
            continue
        tp, bp = tp_of[row["truth_pattern"]], bp_of[row["built_pattern"]]
        pairs = _lcs_pairs(mapping(tp, bp), bp.stop_ids)
        out.extend((tp.pattern_id, band, (built_s - truth_s) / truth_s * 100, float(truth_s))
                   for band, built_s, truth_s in run_time_pairs(bp, tp, pairs) if truth_s > 0)
    return out


def _pct(values: list[float]) -> str:
    if not values:
        return "      n/a"
    a = np.asarray(values)
    return f"{np.median(np.abs(a)):6.1f} |{np.median(a):+6.1f}"


def _ride_instants(log: list[dict[str, Any]], sim: Any, truth_of_built: dict[str, str],
                   base_ms: int) -> dict[str, list[float]]:
    """Errors (s) of estimated arrival/departure instants per kind of stop timing."""
    from transit.simulate import band_of

    rides = {r.trace_id: r for r in sim.rides}
    rep = {}  # feed stop id -> truth stop id (truth merges stops closer than 10 m)
    for tp in sim.truth.patterns:
        for s in tp.stop_ids:
            rep[s] = s
    err: dict[str, list[float]] = defaultdict(list)
    for pat in log:
        if "traces" not in pat:
            continue
        for trace, rt in zip(pat["traces"], pat["rides"], strict=True):
            truth = rides.get(trace)
            if truth is None:
                continue
            t_arr = dict(zip(truth.stop_ids, truth.arrival_s, strict=True))
            t_dep = dict(zip(truth.stop_ids, truth.departure_s, strict=True))
            t_srv = dict(zip(truth.stop_ids, truth.served, strict=True))
            dw = np.minimum(rt.dwell_s, 180.0)
            arr = (rt.center_ms - base_ms) / 1000.0 - dw / 2
            dep = (rt.center_ms - base_ms) / 1000.0 + dw / 2
            for k in range(len(pat["stop_ids"]) - 1):
                t0, t1 = (truth_of_built.get(pat["stop_ids"][k + j]) for j in (0, 1))
                if t0 in t_arr and t1 in t_arr and np.isfinite(arr[k + 1] - dep[k]):
                    true_run = t_arr[t1] - t_dep[t0]
                    if true_run > 0:
                        err[f"run of one ride, {band_of(t_dep[t0])} (%)"].append(
                            (arr[k + 1] - dep[k] - true_run) / true_run * 100)
            for k, bs in enumerate(pat["stop_ids"]):
                ts = truth_of_built.get(bs)
                if ts is None or ts not in t_arr or not np.isfinite(rt.center_ms[k]):
                    continue
                clock = (rt.center_ms[k] - base_ms) / 1000.0
                kind = ("dwell" if rt.observed[k] and dw[k] > 0 else
                        "pass-by" if rt.observed[k] else "interpolated")
                kind += ", halted" if t_srv[ts] else ", skipped"
                err[f"{kind} arrival"].append(clock - dw[k] / 2 - t_arr[ts])
                err[f"{kind} departure"].append(clock + dw[k] / 2 - t_dep[ts])
    return err


def _unrecovered(built: Any, truth: Any, ev: dict[str, Any], mapping: Any,
                 candidates: list[tuple[Any, Any, Any]], serving: dict[str, Counter[str]],
                 verbose: bool = False,
                 all_candidates: list[tuple[Any, ...]] | None = None,
                 ) -> tuple[Counter[str], list[str]]:
    from transit.evaluate import _lcs_pairs, travel_headings
    from transit.sim_geometry import Plane

    plane = Plane(float(np.median([s.stop_lat for s in truth.stops])),
                  float(np.median([s.stop_lon for s in truth.stops])))
    bxy = plane.to_xy(np.array([s.stop_lat for s in built.stops]),
                      np.array([s.stop_lon for s in built.stops]))
    txy = {s.stop_id: plane.to_xy(np.array([s.stop_lat]), np.array([s.stop_lon]))
           for s in truth.stops}
    bh = travel_headings(built)
    th = travel_headings(truth)
    b_ids = [s.stop_id for s in built.stops]

    cand = [plane.to_xy(la, lo) for la, lo, _ in candidates]
    cand_h = [h for _, _, h in candidates]

    def near_candidate(tid: str) -> bool:
        """A kept stop candidate (used by a pattern or not) within 30 m, same direction."""
        x, y = txy[tid]
        for xy, hs in zip(cand, cand_h, strict=True):
            d = np.hypot(xy[0] - x[0], xy[1] - y[0])
            for j in np.flatnonzero(d <= 30.0).tolist():
                if not np.isfinite(hs[j]) or not th[tid] or any(
                        abs((hs[j] - b + 180) % 360 - 180) <= 90 for b in th[tid]):
                    return True
        return False

    every = [(plane.to_xy(la, lo), h, k, sup, pas)
             for la, lo, h, k, sup, pas in (all_candidates or [])]

    def why_no_stop(tid: str) -> str:
        """Why no stop candidate stands for a truth stop: every candidate within 30 m."""
        x, y = txy[tid]
        dropped, opposite = [], []
        for (cx, cy), hs, kept, sup, pas in every:
            for j in np.flatnonzero(np.hypot(cx - x[0], cy - y[0]) <= 30.0).tolist():
                same = (not np.isfinite(hs[j]) or not th[tid] or any(
                    abs((hs[j] - b + 180) % 360 - 180) <= 90 for b in th[tid]))
                if same and not kept[j]:
                    dropped.append(f"{sup[j]}/{pas[j]}")
                elif not same:
                    opposite.append(j)
        if dropped:
            if verbose:
                print(f"    truth {tid}: dropped candidate(s) within 30 m, support/passing "
                      f"{', '.join(dropped)}")
            return "no built stop within 30 m, a candidate the traffic filter dropped"
        if opposite:
            return "no built stop within 30 m, only a candidate of the opposite direction"
        return "no built stop within 30 m, no stop candidate"

    def near_built(tid: str) -> list[str]:
        """Built stops within 30 m of a truth stop, direction-compatible."""
        x, y = txy[tid]
        d = np.hypot(bxy[0] - x[0], bxy[1] - y[0])
        out = []
        for j in np.flatnonzero(d <= 30.0).tolist():
            hs, ht = bh[b_ids[j]], th[tid]
            if not hs or not ht or any(abs((a - b + 180) % 360 - 180) <= 90
                                       for a in hs for b in ht):
                out.append(b_ids[j])
        return out

    bp_of = {p.pattern_id: p for p in built.patterns}
    tally: Counter[str] = Counter()
    lines = []
    tp_of = {p.pattern_id: p for p in truth.patterns}
    stop_level = ("no built stop within 30 m, no stop candidate",
                  "no built stop within 30 m, a candidate the traffic filter dropped",
                  "no built stop within 30 m, only a candidate of the opposite direction",
                  "merged with another stop of the pattern")
    for row in ev["patterns"]["details"]:
        if row["recovered"]:
            continue
        tp = tp_of[row["truth_pattern"]]
        bp = bp_of.get(row["built_pattern"]) if row["built_pattern"] else None
        mapped = mapping(tp, bp) if bp else [None] * len(tp.stop_ids)
        held = set(bp.stop_ids) if bp else set()
        in_lcs = {ti for ti, _ in _lcs_pairs(mapped, bp.stop_ids)} if bp else set()
        miss: Counter[str] = Counter()
        for i, b in enumerate(mapped):
            if i in in_lcs:
                continue
            near = near_built(tp.stop_ids[i])
            if b is not None:
                why = "out of order"
            elif not near:
                why = ("no built stop within 30 m, a stop candidate no pattern holds"
                       if near_candidate(tp.stop_ids[i]) else why_no_stop(tp.stop_ids[i]))
            elif set(near) & held:
                why = "merged with another stop of the pattern"
            else:
                n_serve = max(serving.get(bp.pattern_id, Counter())[x] for x in near) \
                    if bp else 0
                why = (f"built stop not in the pattern, served by {n_serve} of the "
                       f"pattern's {bp.support_traces if bp else 0} rides")
                if verbose:
                    x, y = txy[tp.stop_ids[i]]
                    j = b_ids.index(near[0])
                    others = [p.pattern_id for p in built.patterns if near[0] in p.stop_ids]
                    print(f"    {tp.pattern_id} truth {tp.stop_ids[i]} ~ built {near[0]}: "
                          f"{float(np.hypot(bxy[0][j] - x[0], bxy[1][j] - y[0])):.0f} m, "
                          f"headings truth {[round(h) for h in th[tp.stop_ids[i]]]} built "
                          f"{[round(h) for h in bh[near[0]]]}; {n_serve} rides; held by "
                          f"{others}")
            miss[why] += 1
            tally[why] += 1
        n_stop = sum(v for k, v in miss.items() if k.startswith(stop_level))
        n_logic = len(mapped) - len(in_lcs) - n_stop
        tally["patterns recovered with perfect stops"] += (
            len(in_lcs) + n_stop >= 0.9 * len(mapped))
        tally["patterns recovered with perfect pattern logic"] += (
            len(in_lcs) + n_logic >= 0.9 * len(mapped))
        truth_mapped = {b for b in mapped if b is not None}
        extra = [s for s in (bp.stop_ids if bp else ()) if s not in truth_mapped]
        tally["extra in built"] += len(extra)
        lines.append(f"  {tp.pattern_id:<28} {len(mapped):>3} stops  share {row['share']:.2f}"
                     f"  built {row['built_pattern'] or '-'}"
                     f" ({len(bp.stop_ids) if bp else 0} stops, {bp.support_traces if bp else 0}"
                     f" rides)  missing: " + ", ".join(f"{k} {v}" for k, v in sorted(miss.items()))
                     + f"; extra {len(extra)}")
    return tally, lines


def diagnose(seed: int, routes: int, rides: int, verbose: bool = False) -> dict[str, Any]:
    """Simulate, build, evaluate and print the breakdowns (see the module docstring)."""
    from gps_ingest.pipeline import ReadOptions, read_traces
    from gtfs_out.network_read import read_network
    from gtfs_out.simulate_io import _midnight_utc_ms, default_service_date, simulate_feed
    from transit.build import BuildOptions, build_network
    from transit.evaluate import StopPairs, evaluate_network

    feed = SHARED_DATA / "nairobi-gtfs" / "gtfs.zip"
    log: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-diagnose-") as tmp:
        sim, paths = simulate_feed(feed, tmp, n_routes=routes, rides_per_direction=rides,
                                   seed=seed)
        segments = list(read_traces(paths["traces"], options=ReadOptions(
            timezone="Africa/Nairobi")).iter_segments())
        with _capture_rides(log):
            res = build_network(segments, BuildOptions(timezone="Africa/Nairobi",
                                                       agency_name="Simulated matatus"))
    net = read_network(feed)
    base_ms = _midnight_utc_ms(default_service_date(net), "Africa/Nairobi")
    built, truth = res.network, sim.truth
    ev = evaluate_network(built, truth)
    pairs = StopPairs(built, truth, 30.0)
    t_for_b = {built.stops[j].stop_id: truth.stops[i].stop_id
               for i, j, _ in pairs.global_matches()}

    def mapping(tp: Any, bp: Any) -> list[str | None]:
        """The truth pattern's stops matched to the built pattern's, as the evaluator does."""
        return pairs.in_pattern(tp.stop_ids, bp.stop_ids)

    signed = _signed_run_errors(built, truth, ev, mapping)
    print(f"seed {seed}: stop F1 {ev['stops']['f1']:.3f}, patterns recovered "
          f"{ev['patterns']['recovery']:.3f} ({ev['patterns']['recovered']}/"
          f"{ev['patterns']['n_truth']}; network-wide stop matching "
          f"{ev['patterns']['recovery_global_matching']:.3f}), "
          f"shape {ev['shapes']['mean_error_m']:.1f} m, "
          f"run-time median error {ev['run_times']['median_error_pct']:.1f} %")
    for region in res.report["band_factors"]:
        print(f"  pooled band factors (region {region['region']}): " + ", ".join(
            f"{b} {v['factor']:.3f} (sd {v['between_patterns_sd']:.3f})"
            for b, v in region["bands"].items()))
    print("run times per band          n   |err| med | signed med (%)")
    for band in sorted({b for _, b, _, _ in signed}):
        e = [v for _, b, v, _ in signed if b == band]
        print(f"  {band:<22} {len(e):>5}   {_pct(e)}")
    print(f"  {'all':<22} {len(signed):>5}   {_pct([v for _, _, v, _ in signed])}")
    print("run times by truth run time (s)")
    for lo, hi in ((0, 30), (30, 60), (60, 120), (120, 240), (240, 1e9)):
        e = [v for _, _, v, t in signed if lo <= t < hi]
        print(f"  {f'{lo:.0f}-{hi:.0f}' if hi < 1e9 else f'>= {lo:.0f}':<22} {len(e):>5}   "
              f"{_pct(e)}")
    print("run times per truth pattern (10 worst by median |err|)")
    per: dict[str, list[float]] = defaultdict(list)
    for p, _, v, _ in signed:
        per[p].append(v)
    worst = sorted(per, key=lambda p: -float(np.median(np.abs(per[p]))))[:10]
    for p in worst:
        print(f"  {p:<28} {len(per[p]):>4}   {_pct(per[p])}")
    print("stop instants (s) and runs (%) per ride: kind        n   |err| med | signed med")
    inst = _ride_instants(log, sim, t_for_b, base_ms)
    for k in sorted(inst):
        a = np.asarray(inst[k])
        print(f"  {k:<42} {len(a):>5}  {np.median(np.abs(a)):6.1f} |{np.median(a):+6.1f}")
    tally, lines = _unrecovered(built, truth, ev, mapping,
                                [e["candidates"] for e in log if "candidates" in e],
                                {e["pattern_id"]: e["rides_serving"] for e in log
                                 if "pattern_id" in e}, verbose,
                                [e["all_candidates"] for e in log if "all_candidates" in e])
    print(f"unrecovered patterns: {len(lines)}; truth stops missed / counterfactuals:")
    for k, v in sorted(tally.items()):
        print(f"    {k}: {v}")
    for line in lines:
        print(line)
    return {"evaluation": ev, "signed": signed, "instants": inst, "misses": dict(tally)}


def main(argv: list[str] | None = None) -> int:
    """Command line: ``--seed``, ``--routes``, ``--rides``."""
    p = argparse.ArgumentParser(prog="python -m bench.build.diagnose",
                                description=(__doc__ or "").split("\n")[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--routes", type=int, default=25)
    p.add_argument("--rides", type=int, default=4)
    p.add_argument("--verbose", action="store_true",
                   help="print every pattern-logic miss (positions, headings, patterns)")
    args = p.parse_args(argv)
    if not Path(SHARED_DATA).is_dir():
        print(f"no shared data at {SHARED_DATA}", file=sys.stderr)
        return 2
    diagnose(args.seed, args.routes, args.rides, args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
