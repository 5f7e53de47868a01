"""Simulation I/O: read a feed, choose routes, simulate, write traces and ground truth.

Writes into ``out_dir``:

* ``traces.csv``: one row per positionfix, columns ``trace_id, device_id, time_utc``
  (ISO 8601 UTC with milliseconds and ``Z``), ``lat, lon`` (WGS84, 7 decimals),
  ``speed_mps, accuracy_m, route`` (the route name as a field team would type it);
* ``truth.zip``: the ground truth as a GTFS feed (see :mod:`transit.sim_truth`);
* ``truth.json``: the seed, settings, chosen routes, what every ride did (stops served,
  arrival/departure clock times, traffic holds, partial or not), and the truth stops and
  patterns with their run times, dwells and headways per band (as in truth.zip).

The pure work is :func:`transit.simulate.simulate_rides`; this module only reads and writes.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from gtfs_out.network_read import read_network
from gtfs_out.write import write_feed
from transit.errors import InputError
from transit.model import Network
from transit.simulate import SimConfig, SimResult, simulate_rides

__all__ = ["TRACE_COLUMNS", "choose_routes", "default_service_date", "simulate_feed",
           "write_simulation"]

TRACE_COLUMNS = ("trace_id", "device_id", "time_utc", "lat", "lon", "speed_mps", "accuracy_m",
                 "route")


def default_service_date(network: Network) -> date:
    """The first Tuesday on or after the network's start date (a plain weekday)."""
    try:
        start = datetime.strptime(network.start_date, "%Y%m%d").date()
    except ValueError:
        start = date(2020, 1, 7)
    return start + timedelta(days=(1 - start.weekday()) % 7)


def choose_routes(network: Network, n_routes: int | None, seed: int) -> list[str]:
    """``n_routes`` route ids (all when None), seeded; routes with a shaped pattern only."""
    shaped = {s.shape_id for s in network.shapes}
    eligible = sorted({p.route_id for p in network.patterns
                       if p.shape_id in shaped and len(p.stop_ids) >= 2 and p.timings})
    if n_routes is None or n_routes >= len(eligible):
        return eligible
    rng = np.random.default_rng([seed, 2])
    return sorted(str(r) for r in rng.choice(eligible, size=n_routes, replace=False))


def _midnight_utc_ms(service_date: date, timezone: str) -> int:
    try:
        tz = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"unknown time zone {timezone!r}",
                         fix="use an IANA name such as Africa/Nairobi") from None
    # GTFS service day: times are measured from noon minus 12 h
    noon = datetime(service_date.year, service_date.month, service_date.day, 12, tzinfo=tz)
    return int((noon.timestamp() - 12 * 3600) * 1000)


def _iso_z(ms: np.ndarray) -> list[str]:
    text = np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms")
    return [f"{t}Z" for t in text]


def write_simulation(result: SimResult, out_dir: str | Path, *, timezone: str,
                     service_date: date, settings: dict[str, Any]) -> dict[str, Path]:
    """Write traces.csv, truth.zip and truth.json into ``out_dir`` (created if needed)."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output folder ({exc.strerror})", where=str(out),
                         fix="choose a folder you can write to") from None
    base_ms = _midnight_utc_ms(service_date, timezone)
    traces_path = out / "traces.csv"
    tmp = out / ".traces.csv.tmp"
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(TRACE_COLUMNS)
        for tr in sorted(result.traces, key=lambda t: t.trace_id):
            ms = base_ms + np.round(tr.time_s * 1000).astype(np.int64)
            for i, when in enumerate(_iso_z(ms)):
                writer.writerow((tr.trace_id, tr.device_id, when, f"{tr.lat[i]:.7f}",
                                 f"{tr.lon[i]:.7f}", f"{tr.speed_mps[i]:.2f}",
                                 f"{tr.accuracy_m[i]:.1f}", tr.route_name))
    os.replace(tmp, traces_path)
    truth_zip = write_feed(result.truth, out / "truth.zip")
    truth_json = out / "truth.json"
    doc = {
        "settings": settings,
        "service_date": service_date.isoformat(),
        "timezone": timezone,
        "routes": sorted({r.route_id for r in result.rides}),
        "n_traces": len(result.traces),
        "n_positionfixes": int(sum(len(t.time_s) for t in result.traces)),
        "rides": [asdict(r) for r in result.rides],
        "stops": [{"stop_id": st.stop_id, "stop_name": st.stop_name,
                   "stop_lat": round(st.stop_lat, 7), "stop_lon": round(st.stop_lon, 7),
                   "heading_deg": st.heading_deg} for st in result.truth.stops],
        "patterns": [{"pattern_id": p.pattern_id, "route_id": p.route_id,
                      "direction_id": p.direction_id, "shape_id": p.shape_id,
                      "stop_ids": list(p.stop_ids),
                      "timings": {t.band: {"run_times_s": list(t.run_times_s),
                                           "dwell_s": list(t.dwell_s),
                                           "headway_s": t.headway_s} for t in p.timings}}
                     for p in result.truth.patterns],
    }
    truth_json.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return {"traces": traces_path, "truth_feed": truth_zip, "truth_json": truth_json}


def simulate_feed(feed_path: str | Path, out_dir: str | Path, *, n_routes: int | None = None,
                  rides_per_direction: int = 4, seed: int = 0,
                  service_date: date | None = None,
                  config: SimConfig | None = None,
                  progress: Callable[[int, int], None] | None = None
                  ) -> tuple[SimResult, dict[str, Path]]:
    """Read the feed, ride ``rides_per_direction`` vehicles per pattern of ``n_routes``
    seeded routes, write the traces and truth; return the result and the written paths."""
    if rides_per_direction < 1:
        raise InputError("--rides must be at least 1", fix="give --rides 4, for example")
    network = read_network(feed_path)
    routes = set(choose_routes(network, n_routes, seed))
    if not routes:
        raise InputError("the feed has no route with a shape and timed stops",
                         where=str(feed_path), fix="simulate from a feed that has shapes.txt")
    cfg = config or SimConfig()
    cfg = SimConfig(**{**asdict(cfg), "rides_per_direction": rides_per_direction})
    pattern_ids = [p.pattern_id for p in network.patterns if p.route_id in routes]
    result = simulate_rides(network, seed=seed, config=cfg, pattern_ids=pattern_ids,
                            progress=progress)
    when = service_date or default_service_date(network)
    settings = {"feed": str(feed_path), "seed": seed, "n_routes": len(routes),
                "rides_per_direction": rides_per_direction, "config": asdict(cfg)}
    paths = write_simulation(result, out_dir, timezone=network.agency_timezone or "UTC",
                             service_date=when, settings=settings)
    return result, paths
