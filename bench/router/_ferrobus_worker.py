"""ferrobus side of the router benchmark; runs inside bench/.peers/venv (ferrobus + osmium).

Not imported by the project: ``bench.router.peers`` runs it as
``bench/.peers/venv/bin/python _ferrobus_worker.py request.json`` and reads JSON lines from
stdout, one per event, flushed as they happen, so that a Rust abort in the middle of a run
loses only the query that caused it (the caller resumes at the next one).

Request keys: ``command`` (``write_pbf`` | ``route`` | ``one_to_all`` | ``range``), and for
routing ``osm``, ``gtfs_dir``, ``date`` (ISO or null), ``max_transfer_s``, ``access_s``,
``max_nearest_stops``, ``max_transfers``, ``stops`` ({stop_id: [lat, lon]}), ``start``
(first query index to run) and ``queries``. Times are seconds since service-day midnight;
``ms`` is wall time of the one ferrobus call, measured here with ``perf_counter_ns``;
``cpu_ms`` the process CPU time over the same call (all threads).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from typing import Any


def emit(record: dict[str, Any]) -> None:
    """Print one JSON line and flush it at once."""
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def write_pbf(req: dict[str, Any]) -> None:
    """Write nodes then ways (tagged highway=footway) to an .osm.pbf with pyosmium."""
    import osmium
    from osmium.osm.mutable import Node, Way

    writer = osmium.SimpleWriter(req["out"])
    try:
        for node_id, lat, lon in req["nodes"]:
            writer.add_node(Node(id=node_id, location=(lon, lat), version=1, tags={}))
        for way_id, refs in req["ways"]:
            writer.add_way(Way(id=way_id, nodes=refs, version=1,
                               tags={"highway": "footway"}))
    finally:
        writer.close()
    emit({"event": "done", "ok": True, "nodes": len(req["nodes"]), "ways": len(req["ways"])})


def build(req: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Build the ferrobus model and the TransitPoints of the requested stops."""
    import ferrobus

    date = dt.date.fromisoformat(req["date"]) if req.get("date") else None
    t0 = time.perf_counter()
    model = ferrobus.create_transit_model(req["osm"], [req["gtfs_dir"]], date,
                                          int(req["max_transfer_s"]))
    build_s = time.perf_counter() - t0
    emit({"event": "build", "build_s": build_s, "n_stops": model.stop_count(),
          "n_routes": model.route_count()})
    t0 = time.perf_counter()
    points: dict[str, Any] = {}
    missing: list[str] = []
    for stop_id, (lat, lon) in req["stops"].items():
        try:
            points[stop_id] = ferrobus.create_transit_point(
                lat, lon, model, int(req["access_s"]), int(req["max_nearest_stops"]))
        except Exception:  # a point ferrobus cannot place is reported, not fatal
            missing.append(stop_id)
    emit({"event": "points", "setup_s": time.perf_counter() - t0, "n_points": len(points),
          "missing": missing})
    return model, points


def route(req: dict[str, Any]) -> None:
    """One-to-one earliest arrival per query ``[origin, destination, depart_s]``."""
    import ferrobus

    model, points = build(req)
    max_transfers = int(req["max_transfers"])
    for i in range(int(req.get("start", 0)), len(req["queries"])):
        origin, dest, depart_s = req["queries"][i]
        if origin not in points or dest not in points:
            emit({"i": i, "arrival_s": None, "ms": None, "error": "stop not placed"})
            continue
        a, b = points[origin], points[dest]
        error = None
        t0 = time.perf_counter_ns()
        c0 = time.process_time_ns()
        try:
            res = ferrobus.find_route(model, a, b, int(depart_s), max_transfers)
        except BaseException as exc:  # pyo3 panics derive from BaseException
            if isinstance(exc, KeyboardInterrupt):
                raise
            res, error = None, f"{type(exc).__name__}: {exc}"
        ms = (time.perf_counter_ns() - t0) / 1e6
        cpu_ms = (time.process_time_ns() - c0) / 1e6
        arrival = None if res is None else int(depart_s) + int(res["travel_time_seconds"])
        transfers = None if res is None else res.get("transfers")
        emit({"i": i, "arrival_s": arrival, "ms": ms, "cpu_ms": cpu_ms, "error": error,
              "transfers": transfers})
    emit({"event": "done"})


def one_to_all(req: dict[str, Any]) -> None:
    """Travel times from each origin stop to every stop in ``stops`` (in their order)."""
    import ferrobus

    model, points = build(req)
    targets_ids = [s for s in req["stops"] if s in points]
    targets = [points[s] for s in targets_ids]
    emit({"event": "targets", "stop_ids": targets_ids})
    max_transfers = int(req["max_transfers"])
    want = bool(req.get("return_arrivals", False))
    for i in range(int(req.get("start", 0)), len(req["queries"])):
        origin, depart_s = req["queries"][i]
        if origin not in points:
            emit({"i": i, "arrivals_s": None, "ms": None, "error": "stop not placed"})
            continue
        error = None
        t0 = time.perf_counter_ns()
        c0 = time.process_time_ns()
        try:
            res = ferrobus.find_routes_one_to_many(model, points[origin], targets,
                                                   int(depart_s), max_transfers)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            res, error = None, f"{type(exc).__name__}: {exc}"
        ms = (time.perf_counter_ns() - t0) / 1e6
        cpu_ms = (time.process_time_ns() - c0) / 1e6
        arrivals = None
        n_reached = None
        if res is not None:
            arrivals = [None if r is None else int(depart_s) + int(r["travel_time_seconds"])
                        for r in res]
            n_reached = sum(a is not None for a in arrivals)
        emit({"i": i, "arrivals_s": arrivals if want else None, "n_reached": n_reached,
              "ms": ms, "cpu_ms": cpu_ms, "error": error})
    emit({"event": "done"})


def range_query(req: dict[str, Any]) -> None:
    """rRAPTOR over a departure window per query ``[origin, destination, from_s, to_s]``."""
    import ferrobus

    model, points = build(req)
    max_transfers = int(req["max_transfers"])
    for i in range(int(req.get("start", 0)), len(req["queries"])):
        origin, dest, t_from, t_to = req["queries"][i]
        if origin not in points or dest not in points:
            emit({"i": i, "ms": None, "error": "stop not placed"})
            continue
        error = None
        out: dict[str, Any] = {}
        t0 = time.perf_counter_ns()
        c0 = time.process_time_ns()
        try:
            res = ferrobus.range_multimodal_routing(model, points[origin], points[dest],
                                                    (int(t_from), int(t_to)), max_transfers)
            ms = (time.perf_counter_ns() - t0) / 1e6
            cpu_ms = (time.process_time_ns() - c0) / 1e6
            out = {"departures_s": list(res.departure_times()),
                   "travel_times_s": list(res.travel_times())}
            out["median_travel_s"] = res.median_travel_time() if out["travel_times_s"] else None
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            ms = (time.perf_counter_ns() - t0) / 1e6
            cpu_ms = (time.process_time_ns() - c0) / 1e6
            error = f"{type(exc).__name__}: {exc}"
        emit({"i": i, "ms": ms, "cpu_ms": cpu_ms, "error": error, **out})
    emit({"event": "done"})


COMMANDS = {"write_pbf": write_pbf, "route": route, "one_to_all": one_to_all,
            "range": range_query}


if __name__ == "__main__":
    with open(sys.argv[1]) as fh:
        request = json.load(fh)
    COMMANDS[request["command"]](request)
