"""trackintel side of the stop-detection baseline; runs inside bench/.peers/venv-trackintel.

Not imported by the project: ``bench.build.baseline.baseline_stops`` runs it as
``bench/.peers/venv-trackintel/bin/python _trackintel_worker.py request.json``.

Request keys: ``trackpoints`` (CSV or zipped CSV with ``trace_id, time_utc, lat, lon``),
``out`` (CSV path for the locations), and the parameters of ``baseline_stops``. Each trace
is one trackintel "user", so stay points never span two traces. Prints JSON lines with
counts and the time of each stage (seconds).
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from typing import Any


def emit(record: dict[str, Any]) -> None:
    """Print one JSON line and flush it at once."""
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def run(req: dict[str, Any]) -> None:
    """positionfixes -> staypoints (sliding window) -> locations (DBSCAN) -> CSV of centres."""
    t0 = time.perf_counter()
    import geopandas as gpd
    import pandas as pd
    import trackintel as ti

    import_s = time.perf_counter() - t0
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    df = pd.read_csv(req["trackpoints"], usecols=["trace_id", "time_utc", "lat", "lon"])
    if req.get("trace_ids"):
        df = df[df["trace_id"].isin(req["trace_ids"])]
    df["tracked_at"] = pd.to_datetime(df["time_utc"], utc=True)
    df = df.sort_values(["trace_id", "tracked_at"], kind="stable")
    gdf = gpd.GeoDataFrame(
        df[["trace_id", "tracked_at"]].rename(columns={"trace_id": "user_id"}),
        geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326",
    ).reset_index(drop=True)
    pfs = ti.io.read_positionfixes_gpd(gdf, tracked_at="tracked_at", user_id="user_id")
    read_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    pfs, sp = pfs.generate_staypoints(
        method="sliding",
        distance_metric="haversine",
        dist_threshold=float(req["dist_threshold_m"]),
        time_threshold=float(req["time_threshold_s"]) / 60.0,
        gap_threshold=float(req["gap_threshold_s"]) / 60.0,
        include_last=True,
        exclude_duplicate_pfs=True,
    )
    staypoints_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    if len(sp):
        sp, locs = sp.generate_locations(
            method="dbscan",
            epsilon=float(req["epsilon_m"]),
            num_samples=int(req["num_samples"]),
            distance_metric="haversine",
            agg_level=req["agg_level"],
        )
        centre = locs.geometry
        counts = sp.groupby("location_id").size()
        out = pd.DataFrame({
            "lat": centre.y.to_numpy(),
            "lon": centre.x.to_numpy(),
            "n_staypoints": counts.reindex(locs.index).fillna(0).astype(int).to_numpy(),
        })
    else:
        out = pd.DataFrame({"lat": [], "lon": [], "n_staypoints": []})
    locations_s = time.perf_counter() - t0
    out = out.sort_values(["lat", "lon"]).round({"lat": 7, "lon": 7})
    out.to_csv(req["out"], index=False)
    emit({"event": "done", "n_positionfixes": len(pfs), "n_staypoints": len(sp),
          "n_locations": len(out), "import_s": import_s, "read_s": read_s,
          "staypoints_s": staypoints_s, "locations_s": locations_s})


if __name__ == "__main__":
    with open(sys.argv[1]) as fh:
        run(json.load(fh))
