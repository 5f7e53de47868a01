"""GPX and GeoJSON reader benchmark on the real Abidjan traces.

Run: ``.venv/bin/python -m bench.readers [--data ../shared/data] [--subset 60]``

The 762 Abidjan traces (2.5 M trackpoints, 23 k waypoints) are written once, the way
OSMTracker writes them, as one multi-track GPX file (about 450 MB), and a subset of them
also as one GPX file and as one GeoJSON file in the togeojson layout (a LineString with
``coordTimes`` per trace, waypoints as named Points). Files are cached under
``bench/results/readers/`` (gitignored).

Each measurement runs in a fresh subprocess so its peak memory (VmHWM) is its own;
``cpu s`` is the process CPU time, steadier than wall time on a shared machine:

* ``read_gpx`` on the whole file (streaming: memory should track fixes, not XML size);
* on the subset: ``read_gpx``; expat with no-op callbacks (the floor for any pure-Python
  expat reader); gpxpy 1.6 ``gpxpy.parse`` plus pulling out the columns (the usual way
  Python tools read GPX; it builds the whole document in memory);
* ``read_geojson`` on the subset against ``json.loads`` of the same bytes (its floor).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "bench" / "results" / "readers"

_HEADER = ('<?xml version="1.0" encoding="UTF-8" ?>\n<gpx xmlns="http://www.topografix.com/'
           'GPX/1/1" version="1.1" creator="OSMTracker for Android™ - https://github.com/'
           'labexp/osmtracker-android">\n')

_MEASURE = """
import json, sys, time
kind, path = sys.argv[1], sys.argv[2]
{setup}
t0 = time.perf_counter(); c0 = time.process_time()
{body}
dt, cpu = time.perf_counter() - t0, time.process_time() - c0
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the (big) parent process
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(json.dumps({{"seconds": dt, "cpu_s": cpu, "points": n, "peak_mb": int(hwm) / 1024}}))
"""

_CASES = {
    "read_gpx": ("from gps_ingest.gpx import read_gpx",
                 "with open(path, 'rb') as f:\n    ts = read_gpx(f, source=path)\n"
                 "n = len(ts.fixes)"),
    "expat_noop": ("from xml.parsers import expat",
                   "p = expat.ParserCreate(); p.buffer_text = True\n"
                   "count = [0]\n"
                   "def start(name, attrs):\n    count[0] += name == 'trkpt'\n"
                   "p.StartElementHandler = start\n"
                   "p.EndElementHandler = lambda name: None\n"
                   "p.CharacterDataHandler = lambda text: None\n"
                   "with open(path, 'rb') as f:\n    p.ParseFile(f)\nn = count[0]"),
    "gpxpy": ("import gpxpy",
              "with open(path, encoding='utf-8') as f:\n    g = gpxpy.parse(f)\n"
              "rows = [(p.latitude, p.longitude, p.time, p.elevation) for t in g.tracks "
              "for s in t.segments for p in s.points]\nn = len(rows)"),
    "read_geojson": ("from gps_ingest.geojson import read_geojson",
                     "with open(path, 'rb') as f:\n    ts = read_geojson(f, source=path)\n"
                     "n = len(ts.fixes)"),
    "json_loads": ("import json as j",
                   "with open(path, 'rb') as f:\n    doc = j.loads(f.read())\n"
                   "n = sum(len(ft['geometry']['coordinates']) for ft in doc['features'] "
                   "if ft['geometry']['type'] == 'LineString')"),
}


def _load(data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    folder = data / "abidjan-gps-traces"
    points = pd.read_csv(folder / "trackpoints.zip")
    waypoints = pd.read_csv(folder / "waypoints.csv", keep_default_na=False)
    return points.sort_values(["trace_id", "seq"], kind="stable"), waypoints


def _num(values: pd.Series) -> pd.Series:
    return values.astype(str)


def write_gpx(path: Path, points: pd.DataFrame, waypoints: pd.DataFrame) -> None:
    """All traces as OSMTracker-style tracks in one GPX file; waypoints first."""
    wpt = ("\t<wpt lat=\"" + _num(waypoints.lat) + "\" lon=\"" + _num(waypoints.lon)
           + "\">\n\t\t<ele>" + _num(waypoints.ele) + "</ele>\n\t\t<time>"
           + waypoints.time_utc + "</time>\n\t\t<name><![CDATA[" + waypoints.name
           + "]]></name>\n\t</wpt>\n")
    trkpt = ("\t\t\t<trkpt lat=\"" + _num(points.lat) + "\" lon=\"" + _num(points.lon)
             + "\">\n\t\t\t\t<ele>" + _num(points.ele) + "</ele>\n\t\t\t\t<time>"
             + points.time_utc + "</time>\n\t\t\t\t<extensions>\n\t\t\t\t\t<speed>"
             + _num(points.speed_mps) + "</speed>\n\t\t\t\t</extensions>\n\t\t\t</trkpt>\n")
    with path.open("w", encoding="utf-8") as f:
        f.write(_HEADER)
        f.writelines(wpt.tolist())
        for trace_id, idx in points.groupby("trace_id", sort=True).indices.items():
            f.write(f"\t<trk>\n\t\t<name><![CDATA[trace {trace_id}]]></name>\n\t\t<trkseg>\n")
            f.writelines(trkpt.iloc[idx].tolist())
            f.write("\t\t</trkseg>\n\t</trk>\n")
        f.write("</gpx>\n")


def write_geojson(path: Path, points: pd.DataFrame, waypoints: pd.DataFrame) -> None:
    """The togeojson layout: a LineString with coordTimes per trace, waypoints as Points."""
    features: list[dict[str, object]] = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [w.lon, w.lat]},
         "properties": {"name": w.name, "time": w.time_utc}}
        for w in waypoints.itertuples()
    ]
    for trace_id, part in points.groupby("trace_id", sort=True):
        features.append({
            "type": "Feature",
            "properties": {"name": f"trace {trace_id}", "coordTimes": part.time_utc.tolist()},
            "geometry": {"type": "LineString",
                         "coordinates": part[["lon", "lat", "ele"]].to_numpy().tolist()},
        })
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}),
                    encoding="utf-8")


def _files(data: Path, subset: int) -> dict[str, Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    files = {"full_gpx": OUT / "abidjan_all.gpx",
             "subset_gpx": OUT / f"abidjan_{subset}.gpx",
             "subset_geojson": OUT / f"abidjan_{subset}.geojson"}
    if all(p.is_file() for p in files.values()):
        return files
    print("writing benchmark files (once) ...", flush=True)
    points, waypoints = _load(data)
    write_gpx(files["full_gpx"], points, waypoints)
    keep = sorted(points.trace_id.unique())[:subset]
    sub_points = points[points.trace_id.isin(keep)]
    sub_waypoints = waypoints[waypoints.trace_id.isin(keep)]
    write_gpx(files["subset_gpx"], sub_points, sub_waypoints)
    write_geojson(files["subset_geojson"], sub_points, sub_waypoints)
    return files


def _run(case: str, path: Path) -> dict[str, float]:
    setup, body = _CASES[case]
    code = _MEASURE.format(setup=setup, body=body)
    out = subprocess.run([sys.executable, "-c", code, case, str(path)], cwd=REPO,
                         capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--subset", type=int, default=60, help="traces in the subset files")
    parser.add_argument("--skip-full", action="store_true", help="only the subset runs")
    args = parser.parse_args()
    if not (args.data / "abidjan-gps-traces" / "trackpoints.zip").is_file():
        sys.exit(f"bench.readers: Abidjan traces not found under {args.data}")
    files = _files(args.data, args.subset)
    runs: list[tuple[str, Path, str]] = []
    if not args.skip_full:
        runs.append(("read_gpx", files["full_gpx"], "transit read_gpx (streaming)"))
    runs += [
        ("read_gpx", files["subset_gpx"], "transit read_gpx"),
        ("expat_noop", files["subset_gpx"], "expat, no-op callbacks (floor)"),
        ("gpxpy", files["subset_gpx"], "gpxpy 1.6 parse (peer)"),
        ("read_geojson", files["subset_geojson"], "transit read_geojson"),
        ("json_loads", files["subset_geojson"], "json.loads only (floor)"),
    ]
    print(f"{'file':28}{'reader':34}{'MB':>7}{'points':>11}{'wall s':>8}{'cpu s':>7}"
          f"{'pts/cpu-s':>11}{'peak MB':>9}")
    for case, path, label in runs:
        r = _run(case, path)
        size_mb = path.stat().st_size / 2**20
        print(f"{path.name:28}{label:34}{size_mb:7.0f}{int(r['points']):11,}"
              f"{r['seconds']:8.2f}{r['cpu_s']:7.2f}{r['points'] / r['cpu_s']:11,.0f}"
              f"{r['peak_mb']:9.0f}", flush=True)


if __name__ == "__main__":
    main()
