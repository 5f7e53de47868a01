"""Benchmark the TransitWand reader: ``.venv/bin/python -m bench.transitwand [--quick]``.

Captures are built the way the app writes them (tests/transitwand_factory.py) from

* the real Abidjan field traces (``../shared/data/abidjan-gps-traces/trackpoints.zip``,
  762 traces, 2.5 M fixes at 1 Hz) when present, as length-delimited Routes and as an Upload
  (gpxpy only on the first 20 traces: it needs minutes for all of them);
* synthetic straight rides (10 k and 1 M points), always.

For each capture it prints, side by side: our reader (``decode_transitwand``), the plain
protobuf-runtime path it replaced (iterating the message objects; the reference the tests
cross-check against), and gpxpy 1.6 reading the same fixes written as GPX 1.1 (the format
field teams otherwise export; gpxpy is already a project dependency, so no peer venv is
needed). No peer tool reads TransitWand captures. Also: sniffing speed and false positives
on random heads.
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable, Sequence

import gpxpy
import numpy as np
import pandas as pd

from gps_ingest.proto import transitwand_pb2 as pb
from gps_ingest.timeparse import parse_instants
from gps_ingest.transitwand import decode_transitwand, sniff_transitwand
from tests.conftest import SHARED_DATA
from tests.transitwand_factory import (
    CapturePoint,
    CaptureRoute,
    make_transitwand_capture,
    straight_route,
)


def _best_s(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _message_objects(data: bytes) -> int:
    """The straightforward reader: protobuf runtime, one Python object per point."""
    upload = pb.Upload()
    upload.ParseFromString(data)
    n = 0
    for route in upload.route:
        k = len(route.point)
        lat = np.fromiter((p.lat for p in route.point), np.float64, k)
        lon = np.fromiter((p.lon for p in route.point), np.float64, k)
        off = np.fromiter((p.timeoffset for p in route.point), np.int64, k)
        time_ms = route.start_time + 1000 * np.cumsum(off)
        n += min(len(lat), len(lon), len(time_ms))
    return n


def _gpx_text(routes: Sequence[CaptureRoute]) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="bench">']
    for r in routes:
        out.append(f"<trk><name>{r.name or ''}</name><trkseg>")
        for p in r.points:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(p.time_ms // 1000))
            out.append(f'<trkpt lat="{p.lat:.6f}" lon="{p.lon:.6f}"><time>{stamp}Z</time>'
                       "</trkpt>")
        out.append("</trkseg></trk>")
    out.append("</gpx>\n")
    return "\n".join(out)


def _abidjan_routes() -> list[CaptureRoute] | None:
    zipped = SHARED_DATA / "abidjan-gps-traces" / "trackpoints.zip"
    if not zipped.exists():
        return None
    pts = pd.read_csv(zipped, usecols=["trace_id", "seq", "time_utc", "lat", "lon"])
    pts = pts.sort_values(["trace_id", "seq"], kind="stable")
    t_ms, ok = parse_instants(pts["time_utc"].to_numpy())
    pts = pts.assign(t_ms=t_ms)[ok]
    routes = []
    for trace_id, g in pts.groupby("trace_id", sort=True):
        t = g["t_ms"].to_numpy()
        points = [CapturePoint(a, b, int(c)) for a, b, c in
                  zip(g["lat"].tolist(), g["lon"].tolist(), t.tolist(), strict=True)]
        routes.append(CaptureRoute(start_ms=int(t[0]), points=points, name=f"trace {trace_id}"))
    return routes


def _row(label: str, routes: Sequence[CaptureRoute], layout: str, repeat: int,
         with_gpx: bool) -> None:
    data = make_transitwand_capture(routes, layout=layout)  # type: ignore[arg-type]
    n = sum(len(r.points) for r in routes)
    ours = _best_s(lambda: decode_transitwand(data, source=label), repeat)
    if layout == "upload":
        plain = f"{_best_s(lambda: _message_objects(data), repeat):8.3f}"
    else:
        plain = "       -"
    gpx = "       -"
    if with_gpx:
        text = _gpx_text(routes)
        gpx = f"{_best_s(lambda: gpxpy.parse(io.StringIO(text)), 1):8.3f}"
    print(f"{label:<34} {layout:<9} {n:>9,} {len(data) / 1e6:7.1f} {ours:8.3f} "
          f"{n / ours / 1e6:7.2f} {plain} {gpx}")


def _sniff_figures(sample: bytes) -> None:
    rng = np.random.default_rng(2024)
    heads = [rng.bytes(int(size)) for size in rng.integers(4, 4097, 20_000)]
    t = time.perf_counter()
    claimed = sum(sniff_transitwand(h) for h in heads)
    per_us = (time.perf_counter() - t) / len(heads) * 1e6
    t = time.perf_counter()
    for _ in range(1_000):
        sniff_transitwand(sample[:4096])
    real_us = (time.perf_counter() - t) / 1_000 * 1e6
    print(f"\nsniff: {per_us:.1f} us per random head (20,000 heads of 4..4096 bytes, "
          f"{claimed} claimed); {real_us:.1f} us on a 4 KiB capture head")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.transitwand")
    parser.add_argument("--quick", action="store_true", help="skip the 1 M-point and real runs")
    args = parser.parse_args(argv)
    decode_transitwand(make_transitwand_capture([straight_route()]), source="warm-up")
    print(f"{'capture':<34} {'layout':<9} {'points':>9} {'MB':>7} {'ours s':>8} "
          f"{'M pt/s':>7} {'pb-objs':>8} {'gpxpy s':>8}")
    small = [straight_route(n_points=1_000, name=f"R{i}") for i in range(10)]
    _row("synthetic 10 x 1k points", small, "upload", 5, True)
    _row("synthetic 10 x 1k points", small, "delimited", 5, False)
    if not args.quick:
        big = [straight_route(n_points=10_000, n_stops=20, name=f"R{i}") for i in range(100)]
        _row("synthetic 100 x 10k points", big, "upload", 3, False)
        real = _abidjan_routes()
        if real is None:
            print(f"(real Abidjan traces not found under {SHARED_DATA}; skipped)")
        else:
            _row("Abidjan 762 real traces (1 Hz)", real, "delimited", 3, False)
            _row("Abidjan 762 real traces (1 Hz)", real, "upload", 3, False)
            _row("Abidjan first 20 real traces", real[:20], "upload", 3, True)
    _sniff_figures(make_transitwand_capture(small))
    print("\nours = decode_transitwand (protobuf validation + compiled point walk); pb-objs = "
          "protobuf runtime, iterating message objects; gpxpy = the same fixes as GPX 1.1.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
