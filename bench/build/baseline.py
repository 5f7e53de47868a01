"""Stop-detection baseline for the builder benchmark: trackintel stay points + DBSCAN locations.

Issue 3 asks the builder bench to "report the same figures for a baseline (e.g. trackintel or
movingpandas stay points + DBSCAN) measured in the same run". This module runs trackintel
1.4 in its own venv (``bench/.peers/venv-trackintel``) on phone GPS trackpoints and returns
the stop positions it finds, so the builder bench can score ours and the baseline's with the
same ``bench.common.score_stops``.

Pipeline (trackintel's vocabulary): positionfixes -> ``generate_staypoints(method="sliding")``
(Li et al. 2008: the vehicle stays within ``dist_threshold_m`` for at least
``time_threshold_s``) -> ``generate_locations(method="dbscan")`` over all traces
(``agg_level="dataset"``: a stop is shared by every vehicle that halts there) -> one stop
per location, at the centroid of its stay points. Each trace is its own trackintel user.

Default parameters for minibuses (``BaselineParams``): riders board in 10-60 s, GPS noise on
phones is ~5-15 m, and a vehicle creeping in a queue moves a few metres, so a stay point is
``<= 30 m`` for ``>= 15 s``; gaps over 5 min end a stay (signal loss, not a stop); stay points
within 30 m (DBSCAN epsilon, one sample) form one stop, the same radius the scores use. The
baseline cannot tell a stop from a traffic light or a jam: that is what it is for.

How to call::

    from bench.build.baseline import baseline_stops, run_baseline, evaluate_abidjan
    stops = baseline_stops("/work/shared/data/abidjan-gps-traces/sample_trackpoints.csv")
    res = run_baseline(path_or_dataframe)        # BaselineResult: stops + counts + timings
    evaluate_abidjan(res.stops_latlon, trace_ids=None)   # recall / precision / f1

CLI::

    .venv/bin/python -m bench.build.baseline            # the 4-trace sample
    .venv/bin/python -m bench.build.baseline --full     # all 762 traces (2.5 M points)
    .venv/bin/python -m bench.build.baseline --full --json --save bench/results/build/baseline.csv
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.common import SHARED_DATA, ensure_peer_venvs, run_worker, score_stops

HERE = Path(__file__).resolve().parent
WORKER = HERE / "_trackintel_worker.py"
ABIDJAN_TRACES = SHARED_DATA / "abidjan-gps-traces"
ABIDJAN_GTFS = SHARED_DATA / "abidjan-gtfs" / "gtfs.zip"
#: Waypoints the field team pressed at a stop: names starting with this, accents and case
#: folded (``Arrêt``, ``Arrêt de Bus``, ``arrêt :siporex``, ``Arret``...).
STOP_WAYPOINT_PREFIX = "arret"


@dataclass(frozen=True)
class BaselineParams:
    """trackintel parameters of the baseline (see the module docstring for the reasoning).

    Attributes
    ----------
    dist_threshold_m
        Sliding-window stay-point radius, metres.
    time_threshold_s
        Minimum stay duration, seconds.
    gap_threshold_s
        A gap in the trace longer than this ends a stay, seconds.
    epsilon_m
        DBSCAN radius for clustering stay points into stops, metres.
    num_samples
        DBSCAN minimum stay points per stop (1 keeps every stay).
    agg_level
        ``"dataset"`` (stops shared by all traces) or ``"user"`` (per trace).
    """

    dist_threshold_m: float = 30.0
    time_threshold_s: float = 15.0
    gap_threshold_s: float = 300.0
    epsilon_m: float = 30.0
    num_samples: int = 1
    agg_level: str = "dataset"


@dataclass
class BaselineResult:
    """Stops found by the baseline, with counts and timings (seconds)."""

    stops_latlon: list[tuple[float, float]]
    n_staypoints_per_stop: list[int]
    params: BaselineParams
    n_positionfixes: int
    n_staypoints: int
    runtime_s: float
    timings_s: dict[str, float] = field(default_factory=dict)


def run_baseline(
    trackpoints: Path | str | pd.DataFrame,
    params: BaselineParams | None = None,
    *,
    trace_ids: Iterable[int] | None = None,
    timeout_s: float | None = 3600,
) -> BaselineResult:
    """Run trackintel stay points + DBSCAN on trackpoints; return stops and figures.

    Parameters
    ----------
    trackpoints
        CSV (or zipped CSV) path, or a DataFrame, with columns ``trace_id``, ``time_utc``
        (ISO 8601), ``lat``, ``lon`` (degrees, WGS84), e.g. the Abidjan ``trackpoints.zip``.
    params
        ``BaselineParams()`` when None.
    trace_ids
        Keep only these traces.
    timeout_s
        Kill the worker after this many seconds.

    Returns
    -------
    BaselineResult
        ``runtime_s`` is the wall time of the whole worker run (reading included);
        ``timings_s`` splits it into read / staypoints / locations as measured inside.
    """
    params = params or BaselineParams()
    python = ensure_peer_venvs(["trackintel"])["trackintel"]
    with tempfile.TemporaryDirectory(prefix="baseline-") as tmp:
        if isinstance(trackpoints, pd.DataFrame):
            src = Path(tmp) / "trackpoints.csv"
            trackpoints[["trace_id", "time_utc", "lat", "lon"]].to_csv(src, index=False)
        else:
            src = Path(trackpoints)
            if not src.is_file():
                raise FileNotFoundError(f"trackpoints not found: {src}")
        out = Path(tmp) / "locations.csv"
        req: dict[str, Any] = {"trackpoints": str(src), "out": str(out), **asdict(params)}
        if trace_ids is not None:
            req["trace_ids"] = [int(t) for t in trace_ids]
        t0 = time.perf_counter()
        records, code, err = run_worker(python, WORKER, req, timeout_s=timeout_s)
        runtime_s = time.perf_counter() - t0
        done = [r for r in records if r.get("event") == "done"]
        if code != 0 or not done:
            raise RuntimeError(f"trackintel baseline failed (exit {code}): {err}")
        locs = pd.read_csv(out)
    info = done[-1]
    return BaselineResult(
        stops_latlon=list(zip(locs["lat"].astype(float), locs["lon"].astype(float),
                              strict=True)),
        n_staypoints_per_stop=[int(n) for n in locs["n_staypoints"]],
        params=params,
        n_positionfixes=int(info["n_positionfixes"]),
        n_staypoints=int(info["n_staypoints"]),
        runtime_s=runtime_s,
        timings_s={k: float(info[k]) for k in ("import_s", "read_s", "staypoints_s",
                                                   "locations_s")},
    )


def baseline_stops(
    trackpoints: Path | str | pd.DataFrame,
    params: BaselineParams | None = None,
    *,
    trace_ids: Iterable[int] | None = None,
) -> list[tuple[float, float]]:
    """Stop positions ``(lat, lon)`` found by the trackintel baseline (see ``run_baseline``)."""
    return run_baseline(trackpoints, params, trace_ids=trace_ids).stops_latlon


def _fold(text: str) -> str:
    """Lower case without accents: ``"Arrêt de Bus"`` -> ``"arret de bus"``."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip().lower()


def read_stop_waypoints(waypoints_csv: Path, trace_ids: Iterable[int] | None = None
                        ) -> np.ndarray:
    """(lat, lon) of the field team's stop buttons: names starting ``Arrêt`` / ``Arret``.

    That is ``Arrêt`` (1,662), ``Arrêt de Bus`` (708), ``arrêt :<stop name>``, ``Arret``...:
    3,959 of the 22,973 Abidjan waypoints, the same rule as ``bench.build.abidjan``.
    """
    wp = pd.read_csv(waypoints_csv, dtype={"name": str}, keep_default_na=False)
    keep = wp["name"].map(_fold).str.startswith(STOP_WAYPOINT_PREFIX)
    if trace_ids is not None:
        keep &= wp["trace_id"].isin(list(trace_ids))
    return wp.loc[keep, ["lat", "lon"]].to_numpy(dtype=np.float64)


def read_gtfs_stop_coords(gtfs_zip: Path) -> np.ndarray:
    """(lat, lon) of every stops.txt row of a GTFS zip."""
    with zipfile.ZipFile(gtfs_zip) as zf, zf.open("stops.txt") as fh:
        stops = pd.read_csv(fh, dtype=str)
    return stops[["stop_lat", "stop_lon"]].astype(float).to_numpy()


def evaluate_abidjan(
    predicted_latlon: list[tuple[float, float]] | np.ndarray,
    *,
    trace_ids: Iterable[int] | None = None,
    waypoints_csv: Path | None = None,
    gtfs_zip: Path = ABIDJAN_GTFS,
    radius_m: float = 30.0,
) -> dict[str, float]:
    """Score predicted stops on Abidjan: recall of stop waypoints, precision vs GTFS stops.

    recall = share of ``Arrêt...`` stop waypoints (of the given traces) with a
    predicted stop within ``radius_m``; precision = share of predicted stops within
    ``radius_m`` of an Abidjan GTFS stop (the 2020-11 feed, mapped from these traces);
    f1 = harmonic mean of the two.
    """
    trace_list = None if trace_ids is None else list(trace_ids)
    if waypoints_csv is None:
        waypoints_csv = ABIDJAN_TRACES / "waypoints.csv"
    truth_wp = read_stop_waypoints(waypoints_csv, trace_list)
    truth_gtfs = read_gtfs_stop_coords(gtfs_zip)
    rec = score_stops(predicted_latlon, truth_wp, radius_m)
    prec = score_stops(predicted_latlon, truth_gtfs, radius_m)
    r, p = rec["recall"], prec["precision"]
    return {
        "recall": r,
        "precision": p,
        "f1": 2 * r * p / (r + p) if r + p > 0 else 0.0,
        "n_predicted": rec["n_predicted"],
        "n_stop_waypoints": rec["n_truth"],
        "n_gtfs_stops": prec["n_truth"],
    }


def main(argv: list[str] | None = None) -> int:
    """CLI: run the baseline on the Abidjan sample (or all traces) and print its figures."""
    p = argparse.ArgumentParser(prog="python -m bench.build.baseline",
                                description="trackintel stay points + DBSCAN stop baseline")
    p.add_argument("--full", action="store_true", help="all 762 traces (trackpoints.zip)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--save", type=Path, help="write the baseline's stops (lat, lon) to this CSV")
    args = p.parse_args(argv)
    if args.full:
        src, wp = ABIDJAN_TRACES / "trackpoints.zip", ABIDJAN_TRACES / "waypoints.csv"
        traces = pd.read_csv(ABIDJAN_TRACES / "traces.csv", usecols=["trace_id"])
        trace_ids = traces["trace_id"].tolist()
    else:
        src, wp = (ABIDJAN_TRACES / "sample_trackpoints.csv",
                   ABIDJAN_TRACES / "sample_waypoints.csv")
        trace_ids = sorted(pd.read_csv(src, usecols=["trace_id"])["trace_id"].unique())
    res = run_baseline(src)
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(res.stops_latlon, columns=["lat", "lon"]).assign(
            n_staypoints=res.n_staypoints_per_stop).to_csv(args.save, index=False)
    scores = evaluate_abidjan(res.stops_latlon, trace_ids=trace_ids, waypoints_csv=wp)
    figures = {"input": str(src), "n_traces": len(trace_ids),
               "n_positionfixes": res.n_positionfixes, "n_staypoints": res.n_staypoints,
               "runtime_s": round(res.runtime_s, 2),
               **{k: round(v, 2) for k, v in res.timings_s.items()},
               **{k: round(v, 4) for k, v in scores.items()},
               "params": asdict(res.params)}
    if args.json:
        print(json.dumps(figures, indent=1))
        return 0
    print(f"trackintel baseline on {src.name}: {len(trace_ids)} traces, "
          f"{res.n_positionfixes:,} positionfixes")
    print(f"  stay points {res.n_staypoints:,} -> stops {int(scores['n_predicted']):,}")
    print(f"  recall    {scores['recall']:.3f}  (share of {int(scores['n_stop_waypoints'])} "
          f"stop waypoints within 30 m of a predicted stop)")
    print(f"  precision {scores['precision']:.3f}  (share of predicted stops within 30 m of one of "
          f"{int(scores['n_gtfs_stops'])} GTFS stops)")
    print(f"  f1        {scores['f1']:.3f}")
    print(f"  runtime   {res.runtime_s:.1f} s (imports {res.timings_s['import_s']:.1f}, read "
          f"{res.timings_s['read_s']:.1f}, staypoints "
          f"{res.timings_s['staypoints_s']:.1f}, locations {res.timings_s['locations_s']:.1f})")
    print(f"  params    {asdict(res.params)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
