"""Feed benchmark: the GTFS writer, the validators, the simulator and end-to-end accuracy.

Run: ``.venv/bin/python -m bench.feed [--data ../shared/data] [--routes 25 --rides 4 --seed 3]``

1. Validators on the Digital Matatus 2019 feed: our rules vs gtfs-guru vs gtfs-validator
   (time, errors, warnings, infos).
2. Writer: the same feed read as a Network and written back by ``write_feed`` (time, size,
   determinism, validator errors), side by side with make-gtfs 5 (peer, own venv under
   bench/.peers/, created on first run) building a feed from the same shapes, stops and
   frequencies.
3. Simulator and accuracy: ``--routes`` Nairobi routes x ``--rides`` rides per direction
   simulated with phone faults, built by the builder (when ``transit.build`` is present),
   written, validated (zero errors required) and scored against the truth; the issue's
   targets are printed beside the figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PEER_DIR = REPO / "bench" / ".peers" / "venv-make-gtfs"
PEER_PY = PEER_DIR / "bin" / "python"
WORKER = Path(__file__).with_name("_make_gtfs_worker.py")

#: Issue 3 targets on simulated Nairobi traces.
TARGETS = {"stop_f1": 0.95, "pattern_recovery": 0.95, "shape_mean_error_m": 10.0,
           "median_run_time_error_pct": 5.0}


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _counts(findings: list[Any]) -> str:
    c = {"error": 0, "warning": 0, "info": 0}
    for f in findings:
        c[f.severity] += 1
    return f"{c['error']:>4} err {c['warning']:>5} warn {c['info']:>5} info"


def _errors(findings: list[Any]) -> list[str]:
    return sorted({f.code for f in findings if f.severity == "error"})


def bench_validators(feed: Path, date: str, with_gtfs_validator: bool) -> None:
    from gtfs_out.independent import run_gtfs_guru, run_gtfs_validator
    from gtfs_out.validate import validate_feed

    print(f"\n== validators on {feed.parent.name}/{feed.name}")
    print(f"{'tool':<26}{'seconds':>9}   findings")
    own, t = _timed(lambda: validate_feed(feed))
    print(f"{'transit validate (ours)':<26}{t:>9.2f}   {_counts(own)}")
    guru, t = _timed(lambda: run_gtfs_guru(feed, date=date))
    print(f"{'gtfs-guru 1.0':<26}{t:>9.2f}   {_counts(guru)}")
    if with_gtfs_validator:
        gv, t = _timed(lambda: run_gtfs_validator(feed, date=date))
        print(f"{'gtfs-validator 0.1.2':<26}{t:>9.2f}   {_counts(gv)}")


def _ensure_make_gtfs() -> bool:
    probe = [str(PEER_PY), "-c", "import make_gtfs"]
    if PEER_PY.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return True
    base = getattr(sys, "_base_executable", None) or sys.executable
    try:
        subprocess.run([base, "-m", "venv", str(PEER_DIR)], check=True)
        subprocess.run([str(PEER_PY), "-m", "pip", "install", "-q", "make-gtfs==5.0.0"],
                       check=True)
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"   make-gtfs peer unavailable ({exc})")
        return False
    return subprocess.run(probe, capture_output=True).returncode == 0


def _protofeed(network: Any, folder: Path) -> None:
    """The network as make-gtfs input: meta, service windows, shapes, frequencies, stops."""
    import csv

    from gtfs_out.tables import format_clock

    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "meta.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["agency_id", "agency_name", "agency_url", "agency_timezone", "start_date",
                    "end_date"])
        w.writerow(["agency1", network.agency_name, network.agency_url or "https://gtfs.org/",
                    network.agency_timezone, network.start_date, network.end_date])
    windows = sorted({(t.start_s, t.end_s) for p in network.patterns for t in p.timings})
    wid = {w: f"w{format_clock(w[0]).replace(':', '')}_{format_clock(w[1]).replace(':', '')}"
           for w in windows}
    with (folder / "service_windows.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["service_window_id", "start_time", "end_time", "monday", "tuesday",
                    "wednesday", "thursday", "friday", "saturday", "sunday"])
        for win in windows:
            w.writerow([wid[win], format_clock(win[0]), format_clock(min(win[1], 86399)),
                        *[1] * 7])
    used_shapes = {p.shape_id for p in network.patterns}
    features = [{"type": "Feature", "properties": {"shape_id": s.shape_id},
                 "geometry": {"type": "LineString",
                              "coordinates": [[lo, la] for la, lo in zip(s.lat, s.lon,
                                                                         strict=True)]}}
                for s in network.shapes if s.shape_id in used_shapes and len(s.lat) >= 2]
    (folder / "shapes.geojson").write_text(json.dumps({"type": "FeatureCollection",
                                                       "features": features}))
    shaped = {f["properties"]["shape_id"] for f in features}
    routes = {r.route_id: r for r in network.routes}
    with (folder / "frequencies.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["route_short_name", "route_long_name", "route_type", "service_window_id",
                    "direction", "frequency", "shape_id", "speed"])
        for p in network.patterns:
            if p.shape_id not in shaped:
                continue
            for t in p.timings:
                total_s = sum(t.run_times_s) + sum(t.dwell_s)
                length_km = _shape_km(next(s for s in network.shapes if s.shape_id == p.shape_id))
                speed = max(5.0, min(60.0, length_km / max(total_s, 60) * 3600))
                w.writerow([f"{p.route_id}d{p.direction_id}", routes[p.route_id].route_long_name
                            or p.route_id, 3, wid[(t.start_s, t.end_s)], 1,
                            max(1, round(3600 / t.headway_s)), p.shape_id, f"{speed:.1f}"])
    with (folder / "stops.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["stop_id", "stop_name", "stop_lat", "stop_lon"])
        for s in network.stops:
            w.writerow([s.stop_id, s.stop_name, f"{s.stop_lat:.6f}", f"{s.stop_lon:.6f}"])


def _shape_km(shape: Any) -> float:
    import numpy as np

    lat, lon = np.radians(shape.lat), np.radians(shape.lon)
    a = (np.sin(np.diff(lat) / 2) ** 2
         + np.cos(lat[:-1]) * np.cos(lat[1:]) * np.sin(np.diff(lon) / 2) ** 2)
    return float(np.sum(2 * 6371.0088 * np.arcsin(np.sqrt(a))))


def bench_writer(feed: Path, date: str, work: Path, peers: bool) -> None:
    from gtfs_out.independent import run_gtfs_guru
    from gtfs_out.network_read import read_network
    from gtfs_out.read import read_feed
    from gtfs_out.validate import validate_feed
    from gtfs_out.write import write_feed

    print(f"\n== writer: {feed.parent.name} read as a Network and written as GTFS")
    network, t_read = _timed(lambda: read_network(feed))
    print(f"read_network: {t_read:.2f} s, {len(network.patterns)} patterns, "
          f"{len(network.stops):,} stops")
    print(f"{'writer':<24}{'seconds':>9}{'MB':>7}{'trips':>8}{'stop_times':>12}   "
          "gtfs-guru")
    ours = work / "ours.zip"
    _, t = _timed(lambda: write_feed(network, ours))
    again = write_feed(network, work / "ours-again.zip")
    same = hashlib.sha256(ours.read_bytes()).digest() == hashlib.sha256(
        again.read_bytes()).digest()
    tables = read_feed(ours)
    guru = run_gtfs_guru(ours, date=date)
    print(f"{'write_feed (ours)':<24}{t:>9.2f}{ours.stat().st_size / 1e6:>7.2f}"
          f"{len(tables['trips']):>8,}{len(tables['stop_times']):>12,}   {_counts(guru)}")
    print(f"   same bytes twice: {same}; own rules: {_counts(validate_feed(ours))}; "
          f"errors: {_errors(guru) or 'none'}")
    if not peers:
        return
    if not _ensure_make_gtfs():
        return
    proto = work / "protofeed"
    _protofeed(network, proto)
    peer_zip = work / "make_gtfs.zip"
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump({"protofeed_dir": str(proto), "out_zip": str(peer_zip)}, fh)
    proc = subprocess.run([str(PEER_PY), str(WORKER), fh.name], capture_output=True,
                          text=True, timeout=1800, check=False)
    Path(fh.name).unlink()
    if proc.returncode != 0:
        print(f"{'make-gtfs 5.0 (peer)':<24} failed: {proc.stderr.strip()[-300:]}")
        return
    rec = json.loads(proc.stdout.strip().splitlines()[-1])
    guru = run_gtfs_guru(peer_zip, date=date)
    print(f"{'make-gtfs 5.0 (peer)':<24}{rec['build_s'] + rec['write_s']:>9.2f}"
          f"{rec['bytes'] / 1e6:>7.2f}{rec['trips']:>8,}{rec['stop_times']:>12,}   "
          f"{_counts(guru)}")
    print(f"   (make-gtfs expands frequencies into explicit trips and places its own stops "
          f"along shapes; errors: {_errors(guru) or 'none'})")


def bench_accuracy(feed: Path, work: Path, routes: int, rides: int, seed: int) -> None:
    from gtfs_out.simulate_io import simulate_feed

    print(f"\n== simulator: {routes} routes x {rides} rides per direction, seed {seed}")
    sim_dir = work / "sim"
    (result, paths), t = _timed(lambda: simulate_feed(feed, sim_dir, n_routes=routes,
                                                     rides_per_direction=rides, seed=seed))
    n_fixes = sum(len(tr.time_s) for tr in result.traces)
    print(f"simulate: {t:.1f} s, {len(result.traces)} traces, {n_fixes:,} positionfixes; "
          f"truth {len(result.truth.stops):,} stops, {len(result.truth.patterns)} patterns")
    try:
        from gps_ingest.clean import clean_traceset
        from gps_ingest.csvfile import read_csv
        from transit.build import BuildOptions, build_network
    except ImportError as exc:
        print(f"builder not available ({exc}); accuracy not measured")
        return
    from gtfs_out.independent import run_gtfs_guru
    from gtfs_out.network_read import read_network
    from gtfs_out.validate import validate_feed
    from gtfs_out.write import write_feed
    from transit.evaluate import evaluate_network

    def read() -> Any:
        with paths["traces"].open("rb") as fh:
            return clean_traceset(read_csv(fh, source="traces.csv"))

    traces, t_read = _timed(read)
    segments = list(traces.iter_segments())
    built, t_build = _timed(lambda: build_network(segments, BuildOptions(
        timezone=result.truth.agency_timezone or "UTC")))
    out, t_write = _timed(lambda: write_feed(built.network, work / "built.zip"))
    own, guru = validate_feed(out), run_gtfs_guru(out)
    print(f"read+clean {t_read:.1f} s, build {t_build:.1f} s, write {t_write:.2f} s; "
          f"built feed: own {_counts(own)} | gtfs-guru {_counts(guru)}")
    print(f"   independent-validator errors: {_errors(guru) or 'none'}")
    report = evaluate_network(read_network(out), read_network(paths["truth_feed"]))
    s, p, sh, rt = report["stops"], report["patterns"], report["shapes"], report["run_times"]
    rows = [("stop precision (30 m)", s["precision"], None, "{:.3f}"),
            ("stop recall (30 m)", s["recall"], None, "{:.3f}"),
            ("stop F1 (30 m)", s["f1"], (">=", TARGETS["stop_f1"]), "{:.3f}"),
            ("patterns recovered", p["recovery"], (">=", TARGETS["pattern_recovery"]),
             "{:.3f}"),
            ("shape mean error (m)", sh["mean_error_m"], ("<=", TARGETS["shape_mean_error_m"]),
             "{:.1f}"),
            ("median run-time error (%)", rt["median_error_pct"],
             ("<=", TARGETS["median_run_time_error_pct"]), "{:.1f}")]
    print(f"{'metric':<28}{'ours':>10}   target")
    for name, value, target, fmt in rows:
        shown = "n/a" if value is None else fmt.format(value)
        verdict = ""
        if target is not None and value is not None:
            ok = value >= target[1] if target[0] == ">=" else value <= target[1]
            verdict = f"{target[0]} {target[1]:g}  {'met' if ok else 'NOT met'}"
        print(f"{name:<28}{shown:>10}   {verdict}")
    (work / "evaluation.json").write_text(json.dumps(report, indent=1, sort_keys=True))
    _diagnose_misses(read_network(out), result)


def _diagnose_misses(built: Any, result: Any) -> None:
    """Stop recall by how many rides served the stop; how far missed stops are from the
    nearest built stop (merged neighbours vs never detected)."""
    from collections import Counter

    import numpy as np

    from transit.evaluate import match_points
    from transit.sim_geometry import Plane

    served: Counter[str] = Counter()
    for ride in result.rides:
        served.update(s for s, ok in zip(ride.stop_ids, ride.served, strict=True) if ok)
    truth = result.truth.stops
    plane = Plane(float(np.mean([s.stop_lat for s in truth])),
                  float(np.mean([s.stop_lon for s in truth])))
    bx, by = plane.to_xy(np.array([s.stop_lat for s in built.stops]),
                         np.array([s.stop_lon for s in built.stops]))
    tx, ty = plane.to_xy(np.array([s.stop_lat for s in truth]),
                         np.array([s.stop_lon for s in truth]))
    hit = {i for i, _, _ in match_points(tx, ty, bx, by, 30.0)}
    print("stop recall by rides that halted there: " + ", ".join(
        f"{n}: {sum(i in hit for i, s in enumerate(truth) if served[s.stop_id] == n)}"
        f"/{sum(served[s.stop_id] == n for s in truth)}"
        for n in sorted({served[s.stop_id] for s in truth})))
    missed = [i for i in range(len(truth)) if i not in hit]
    if missed and len(bx):
        near = [float(np.min(np.hypot(bx - tx[i], by - ty[i]))) for i in missed]
        print(f"missed truth stops: {len(missed)}; distance to the nearest built stop "
              f"p10/p50/p90 = {np.percentile(near, 10):.0f}/{np.percentile(near, 50):.0f}/"
              f"{np.percentile(near, 90):.0f} m (under 30 m: a built stop stands for two)")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.feed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--routes", type=int, default=25)
    parser.add_argument("--rides", type=int, default=4)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "feed")
    parser.add_argument("--no-peers", action="store_true", help="skip make-gtfs")
    parser.add_argument("--no-gtfs-validator", action="store_true",
                        help="skip the slow gtfs-validator run")
    args = parser.parse_args()
    feed = args.data / "nairobi-gtfs" / "gtfs.zip"
    if not feed.exists():
        sys.exit(f"no Nairobi feed at {feed}; pass --data")
    args.out.mkdir(parents=True, exist_ok=True)
    bench_validators(feed, "2019-11-05", not args.no_gtfs_validator)
    bench_writer(feed, "2019-11-05", args.out, not args.no_peers)
    bench_accuracy(feed, args.out, args.routes, args.rides, args.seed)


if __name__ == "__main__":
    main()
