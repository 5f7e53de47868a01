"""Ingest benchmark: all 2.5 M Abidjan trackpoints (144 MB CSV inside trackpoints.zip)
read, cleaned and stored into a fresh SQLite file, against the plain ``pandas.read_csv``
of the same file measured in the same run (the floor).

Run: ``.venv/bin/python -m bench.ingest [--data ../shared/data] [--repeat 1]``

``--big GB`` instead writes a synthetic CSV of that size (traces of 100,000 fixes at 1 Hz)
to a temporary folder and ingests it, to show that a multi-GB upload streams: peak memory
stays far below the file size.

Each measurement runs in a fresh subprocess so its peak memory (max RSS) is its own.
Targets (issue 2): under 15 s and under 2 GB peak memory on the 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_PANDAS = """
import json, resource, sys, time
import pandas as pd
t0 = time.perf_counter()
df = pd.read_csv(sys.argv[1])
dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt, "rows": len(df),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

_OURS = """
import json, resource, sys, time
from api.ingest import ingest_file
from api.store.db import open_store
from gps_ingest.clean import clean_traceset  # noqa: F401 (numba cache warmed below)
import numpy as np
from transit.traces import Positionfixes, TraceMeta, TraceSet
warm = TraceSet([TraceMeta("w")], Positionfixes.from_columns(
    trace_index=np.zeros(3), time_ms=np.arange(3) * 1000 + 1_600_000_000_000,
    lat=np.zeros(3) + 1, lon=np.zeros(3) + 1))
clean_traceset(warm)
engine = open_store("sqlite:///" + sys.argv[2])
t0 = time.perf_counter()
result = ingest_file(engine, sys.argv[1])
dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt, "rows": result.n_accepted + result.n_rejected,
                  "accepted": result.n_accepted, "rejected": result.n_rejected,
                  "reasons": result.reason_counts, "status": result.status,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _run(code: str, *args: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _write_big(path: Path, gigabytes: float) -> int:
    """A CSV of about ``gigabytes`` GB; returns its number of rows."""
    n = 100_000
    t0 = 1_572_971_489
    rows = [b"TRACE_,%d,%.6f,%.6f,%.1f\n" % (t0 + i, 5.3 + 1e-4 * (i % 5000),
                                            -4.0 + 1e-4 * (i // 5000), 5.0 + i % 7)
            for i in range(n)]
    template = b"".join(rows)
    total, count = 0, 0
    with path.open("wb") as fh:
        fh.write(b"trace_id,time,lat,lon,accuracy_m\n")
        while total < gigabytes * 1e9:
            fh.write(template.replace(b"TRACE_", b"t%05d" % count))
            total += len(template)
            count += 1
    return count * n


def big(gigabytes: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "big.csv"
        rows = _write_big(source, gigabytes)
        size_mb = source.stat().st_size / 2**20
        ours = _run(_OURS, str(source), str(Path(tmp) / "big.sqlite"))
    print(f"synthetic {size_mb:,.0f} MB CSV, {rows:,} rows: ingested in "
          f"{float(ours['seconds']):.1f} s ({rows / float(ours['seconds']):,.0f} points/s), "  # type: ignore[arg-type]
          f"peak memory {float(ours['peak_mb']):,.0f} MB, status {ours['status']}")  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--big", type=float, default=None, metavar="GB",
                        help="ingest a synthetic CSV of this many GB instead")
    args = parser.parse_args()
    if args.big:
        big(args.big)
        return
    source = args.data / "abidjan-gps-traces" / "trackpoints.zip"
    if not source.is_file():
        sys.exit(f"bench.ingest: {source} not found (needs ../shared/data)")
    best_pandas: dict[str, object] | None = None
    best_ours: dict[str, object] | None = None
    for _ in range(args.repeat):
        floor = _run(_PANDAS, str(source))
        with tempfile.TemporaryDirectory() as tmp:
            ours = _run(_OURS, str(source), str(Path(tmp) / "bench.sqlite"))
            db_mb = (Path(tmp) / "bench.sqlite").stat().st_size / 2**20
        ours["db_mb"] = db_mb
        if best_pandas is None or floor["seconds"] < best_pandas["seconds"]:  # type: ignore[operator]
            best_pandas = floor
        if best_ours is None or ours["seconds"] < best_ours["seconds"]:  # type: ignore[operator]
            best_ours = ours
    if best_pandas is None or best_ours is None:
        sys.exit("bench.ingest: nothing measured (--repeat must be >= 1)")
    rows = int(best_ours["rows"])  # type: ignore[call-overload]
    ps, os_ = float(best_pandas["seconds"]), float(best_ours["seconds"])  # type: ignore[arg-type]
    print(f"Abidjan trackpoints.zip: {rows:,} rows ({source.stat().st_size / 2**20:.0f} MB zip)")
    print(f"{'':36}{'seconds':>9}{'points/s':>12}{'peak MB':>9}")
    print(f"{'pandas.read_csv (floor)':36}{ps:9.2f}{rows / ps:12,.0f}"
          f"{float(best_pandas['peak_mb']):9.0f}")  # type: ignore[arg-type]
    print(f"{'transit ingest (read+clean+SQLite)':36}{os_:9.2f}{rows / os_:12,.0f}"
          f"{float(best_ours['peak_mb']):9.0f}")  # type: ignore[arg-type]
    print(f"ratio ingest / pandas floor: {os_ / ps:.2f}x")
    print(f"accepted {best_ours['accepted']:,}, rejected {best_ours['rejected']:,}: "
          f"{best_ours['reasons']}")
    print(f"database size: {float(best_ours['db_mb']):.0f} MB (raw zip kept inside)")  # type: ignore[arg-type]
    ok_time, ok_mem = os_ < 15, float(best_ours["peak_mb"]) < 2048  # type: ignore[arg-type]
    print(f"target < 15 s: {'met' if ok_time else 'NOT met'}; "
          f"target < 2 GB peak: {'met' if ok_mem else 'NOT met'}")


if __name__ == "__main__":
    main()
