"""Builder benchmark: accuracy on simulated Nairobi rides and on real Abidjan traces, speed.

Run with ``.venv/bin/python -m bench.build`` (``--help`` for options). Three parts:

1. **Nairobi, simulated** (issue 3 targets): the writer's simulator rides ``--routes`` routes
   of the real Digital Matatus feed, ``--rides`` vehicles per direction, with phone faults
   (1-15 s sampling, 5-25 m noise, jumps, gaps, skipped stops, traffic holds, partial rides);
   the CSV goes through the real reader and cleaner, then the builder; ``evaluate_network``
   scores stop F1 within 30 m (as Abidjan is scored: a truth stop is found when a built
   stop of its direction lies within 30 m; and, stricter, with stops matched one-to-one),
   pattern recovery, shape error and run-time error.
2. **Abidjan, real** (762 traces, 2.5 M fixes, field stops NOT given to the builder): share
   of ``Arrêt`` waypoints within 30 m of a built stop (recall) and share of built stops
   within 30 m of an Abidjan-feed stop (precision), next to the trackintel stay-point +
   DBSCAN baseline (``bench.build.baseline``) scored by the same function in the same run.
3. **Speed and memory** on the Abidjan set: load (bench loader, or ``--store`` from a SQLite
   store filled once by ``transit ingest``), build, write, validate (gtfs-guru + own rules);
   wall time and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from bench.common import SHARED_DATA

RESULTS = Path(__file__).resolve().parent.parent / "results"
TARGETS = {"stop_f1": 0.95, "pattern_recovery": 0.95, "shape_mean_error_m": 10.0,
           "run_time_median_error_pct": 5.0, "abidjan_recall": 0.90,
           "abidjan_precision": 0.80, "build_to_validated_s": 60.0, "peak_rss_gb": 4.0}


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def _errors(findings: list[Any]) -> int:
    return sum(1 for f in findings if f.severity == "error")


def nairobi(routes: int, rides: int, seed: int) -> dict[str, Any]:
    """Simulate, read, clean, build, validate and evaluate against the truth."""
    from gps_ingest.pipeline import ReadOptions, read_traces
    from gtfs_out.independent import run_gtfs_guru
    from gtfs_out.simulate_io import simulate_feed
    from gtfs_out.write import write_feed
    from transit.build import BuildOptions, build_network
    from transit.evaluate import evaluate_network

    feed = SHARED_DATA / "nairobi-gtfs" / "gtfs.zip"
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        t0 = time.perf_counter()
        sim, paths = simulate_feed(feed, tmp, n_routes=routes, rides_per_direction=rides,
                                   seed=seed)
        t1 = time.perf_counter()
        segments = list(read_traces(paths["traces"], options=ReadOptions(
            timezone="Africa/Nairobi")).iter_segments())
        t2 = time.perf_counter()
        res = build_network(segments, BuildOptions(timezone="Africa/Nairobi",
                                                   agency_name="Simulated matatus"))
        t3 = time.perf_counter()
        out = write_feed(res.network, Path(tmp) / "built.zip")
        errors = _errors(run_gtfs_guru(out))
    ev = evaluate_network(res.network, sim.truth)
    return {
        "routes": routes, "rides_per_direction": rides, "seed": seed,
        "traces": len(sim.traces), "segments": len(segments),
        "stop_precision": ev["stops"]["precision"], "stop_recall": ev["stops"]["recall"],
        "stop_f1": ev["stops"]["f1"], "stops_built": ev["stops"]["n_built"],
        "stop_f1_within": ev["stops"]["within_radius"]["f1"],
        "stop_precision_within": ev["stops"]["within_radius"]["precision"],
        "stop_recall_within": ev["stops"]["within_radius"]["recall"],
        "stops_truth": ev["stops"]["n_truth"],
        "pattern_recovery": ev["patterns"]["recovery"],
        "pattern_recovery_global_matching": ev["patterns"]["recovery_global_matching"],
        "patterns_truth": ev["patterns"]["n_truth"],
        "patterns_built": len(res.network.patterns),
        "shape_mean_error_m": ev["shapes"]["mean_error_m"],
        "run_time_median_error_pct": ev["run_times"]["median_error_pct"],
        "gtfs_guru_errors": errors,
        "simulate_s": t1 - t0, "read_clean_s": t2 - t1, "build_s": t3 - t2,
    }


def _store_segments(db: Path) -> list[Any]:
    """Ingest the Abidjan traces into a SQLite store once; return its segments."""
    from api.ingest import ingest_file
    from api.store.db import open_store
    from api.store.uploads import load_traceset

    folder = SHARED_DATA / "abidjan-gps-traces"
    fresh = not db.exists()
    engine = open_store(f"sqlite:///{db}")
    try:
        if fresh:
            for name in ("traces.csv", "trackpoints.zip"):
                ingest_file(engine, folder / name)
        with engine.connect() as conn:
            traceset = load_traceset(conn)
    finally:
        engine.dispose()
    return [replace(s, field_stops=()) for s in traceset.iter_segments()]


def abidjan_segments(*, store: bool) -> tuple[list[Any], str]:
    """The 762 Abidjan traces as segments, without their field stops, from a SQLite store
    ingested once (``store``) or straight from the CSV; and where they came from."""
    from bench.build.abidjan import load_segments

    if store:
        RESULTS.mkdir(parents=True, exist_ok=True)
        return _store_segments(RESULTS / "abidjan-store.sqlite"), "store (SQLite, load_traceset)"
    return (load_segments(SHARED_DATA / "abidjan-gps-traces", with_field_stops=False),
            "CSV (bench loader)")


def abidjan(*, store: bool, baseline: bool, fresh_baseline: bool = False) -> dict[str, Any]:
    """Build the 762 real traces without field stops; time it; score it and the baseline."""
    from bench.build.abidjan import BUILD_OPTIONS
    from bench.build.baseline import evaluate_abidjan
    from gtfs_out.independent import run_gtfs_guru
    from gtfs_out.validate import validate_feed
    from gtfs_out.write import write_feed
    from transit.build import build_network

    folder = SHARED_DATA / "abidjan-gps-traces"
    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    segments, out["loaded_from"] = abidjan_segments(store=store)
    t1 = time.perf_counter()
    res = build_network(segments, BUILD_OPTIONS)
    t2 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        path = write_feed(res.network, Path(tmp) / "abidjan.zip")
        t3 = time.perf_counter()
        guru = run_gtfs_guru(path)
        own = validate_feed(path)
        t4 = time.perf_counter()
    stops = [(s.stop_lat, s.stop_lon) for s in res.network.stops]
    ours = evaluate_abidjan(stops)
    out.update({
        "fixes": sum(len(s) for s in segments), "segments": len(segments),
        "stops": len(res.network.stops), "routes": len(res.network.routes),
        "patterns": len(res.network.patterns),
        "recall": ours["recall"], "precision": ours["precision"], "f1": ours["f1"],
        "gtfs_guru_errors": _errors(guru), "own_rule_errors": _errors(own),
        "gtfs_guru_warnings": dict(Counter(f.code for f in guru if f.severity == "warning")),
        "load_s": t1 - t0, "build_s": t2 - t1, "write_s": t3 - t2, "validate_s": t4 - t3,
        "build_to_validated_s": t4 - t1, "load_to_validated_s": t4 - t0,
        "peak_rss_gb": _rss_gb(),
    })
    if baseline:
        out["baseline"] = _baseline(folder, fresh=fresh_baseline)
    return out


def _baseline(folder: Path, *, fresh: bool) -> dict[str, Any]:
    """The trackintel baseline's figures; cached in bench/results/ (it takes ~15 min)."""
    from bench.build.baseline import BaselineParams, evaluate_abidjan, run_baseline

    cache = RESULTS / "baseline-abidjan.json"
    params = asdict(BaselineParams())
    if cache.is_file() and not fresh:
        cached = json.loads(cache.read_text())
        if cached.get("params") == params:
            return {**cached, "cached": True}
    b = run_baseline(folder / "trackpoints.zip")
    score = evaluate_abidjan(b.stops_latlon)
    fig = {"name": "trackintel sliding stay points + DBSCAN", "params": params,
           "stops": len(b.stops_latlon), "recall": score["recall"],
           "precision": score["precision"], "f1": score["f1"], "runtime_s": b.runtime_s}
    RESULTS.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(fig, indent=1, sort_keys=True))
    return {**fig, "cached": False}


def _row(name: str, value: float | None, target: float, higher: bool, fmt: str) -> str:
    if value is None:
        return f"  {name:<34} {'n/a':>10}   target {'>=' if higher else '<='} {target:{fmt}}"
    ok = value >= target if higher else value <= target
    return (f"  {name:<34} {value:>10{fmt}}   target {'>=' if higher else '<='} "
            f"{target:{fmt}}  {'met' if ok else 'NOT met'}")


def main(argv: list[str] | None = None) -> int:
    """Run the parts asked for and print our figures next to the targets and the baseline."""
    p = argparse.ArgumentParser(prog="python -m bench.build", description=__doc__.split("\n")[0])
    p.add_argument("--routes", type=int, default=25, help="Nairobi routes to simulate")
    p.add_argument("--rides", type=int, default=4, help="rides per direction")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-nairobi", action="store_true")
    p.add_argument("--skip-abidjan", action="store_true")
    p.add_argument("--no-baseline", action="store_true", help="skip the trackintel baseline")
    p.add_argument("--fresh-baseline", action="store_true",
                   help="re-run the baseline even when bench/results/ has its figures")
    p.add_argument("--store", action="store_true",
                   help="load Abidjan from a SQLite store (ingested once, cached in "
                        "bench/results/) instead of the CSV")
    p.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = p.parse_args(argv)
    if not SHARED_DATA.is_dir():
        print(f"no shared data at {SHARED_DATA}", file=sys.stderr)
        return 2
    figures: dict[str, Any] = {}
    if not args.skip_nairobi:
        n = nairobi(args.routes, args.rides, args.seed)
        figures["nairobi"] = n
        print(f"Nairobi, simulated: {n['routes']} routes x {n['rides_per_direction']} rides per "
              f"direction ({n['traces']} traces), seed {n['seed']}")
        print(_row("stop F1 within 30 m", n["stop_f1_within"], TARGETS["stop_f1"], True, ".3f"))
        print(f"    (precision {n['stop_precision_within']:.3f}, recall "
              f"{n['stop_recall_within']:.3f}: scored as Abidjan is, a stop is found when one "
              f"of its direction lies within 30 m; {n['stops_built']} built, "
              f"{n['stops_truth']} true)")
        print(_row("  same, one-to-one matching", n["stop_f1"], TARGETS["stop_f1"], True, ".3f"))
        print(f"    (precision {n['stop_precision']:.3f}, recall {n['stop_recall']:.3f})")
        print(_row("patterns recovered", n["pattern_recovery"], TARGETS["pattern_recovery"],
                   True, ".3f"))
        print(_row("  same, stops matched network-wide", n["pattern_recovery_global_matching"],
                   TARGETS["pattern_recovery"], True, ".3f"))
        print(_row("shape mean error (m)", n["shape_mean_error_m"],
                   TARGETS["shape_mean_error_m"], False, ".1f"))
        print(_row("run-time median error (%)", n["run_time_median_error_pct"],
                   TARGETS["run_time_median_error_pct"], False, ".1f"))
        print(f"  gtfs-guru errors on the built feed: {n['gtfs_guru_errors']}; build "
              f"{n['build_s']:.1f} s")
    if not args.skip_abidjan:
        a = abidjan(store=args.store, baseline=not args.no_baseline,
                    fresh_baseline=args.fresh_baseline)
        figures["abidjan"] = a
        print(f"Abidjan, real: {a['fixes']:,} fixes, {a['segments']} segments, loaded from "
              f"{a['loaded_from']}; field stops not given")
        print(f"  {'':<34} {'ours':>10}   {'baseline':>10}")
        base = a.get("baseline", {})
        for key, label in (("recall", "Arrêt waypoints within 30 m"),
                           ("precision", "built stops within 30 m of feed"), ("f1", "F1")):
            b = f"{base[key]:>10.3f}" if base else f"{'-':>10}"
            print(f"  {label:<34} {a[key]:>10.3f}   {b}")
        if base:
            print(f"  {'stops':<34} {a['stops']:>10}   {base['stops']:>10}")
            print(f"  {'stop detection time (s)':<34} {a['build_s']:>10.1f}   "
                  f"{base['runtime_s']:>10.1f}" + ("  (baseline figures cached)"
                                                   if base.get("cached") else ""))
        print(_row("recall target", a["recall"], TARGETS["abidjan_recall"], True, ".3f"))
        print(_row("precision target", a["precision"], TARGETS["abidjan_precision"], True,
                   ".3f"))
        print(f"  load {a['load_s']:.1f} s, build {a['build_s']:.1f} s, write "
              f"{a['write_s']:.1f} s, validate {a['validate_s']:.1f} s")
        print(_row("build -> validated feed (s)", a["build_to_validated_s"],
                   TARGETS["build_to_validated_s"], False, ".1f"))
        print(_row("load -> validated feed (s)", a["load_to_validated_s"],
                   TARGETS["build_to_validated_s"], False, ".1f"))
        print(_row("peak memory (GB)", a["peak_rss_gb"], TARGETS["peak_rss_gb"], False, ".2f"))
        print(f"  gtfs-guru errors {a['gtfs_guru_errors']}, own-rule errors "
              f"{a['own_rule_errors']}; {a['stops']} stops, {a['routes']} routes, "
              f"{a['patterns']} patterns")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, sort_keys=True, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
