"""pyraptor side of the router benchmark; runs inside bench/.peers/venv-pyraptor.

Not imported by the project: ``bench.router.peers.run_pyraptor`` runs it as
``bench/.peers/venv-pyraptor/bin/python _pyraptor_worker.py request.json`` and reads JSON
lines from stdout.

pyraptor's own GTFS loader (``pyraptor.gtfs.timetable``) expects the Dutch railway feed
(agencies filtered by name, calendar_dates.txt only, trip_short_name, platforms with
parent stations), so this adapter builds its ``Timetable`` from a plain GTFS directory:
one Station per stop, trips active on the service date, routes grouped by stop sequence as
pyraptor's ``Routes.add`` does. Each Trip gets its id before its stop times are added
(pyraptor hashes a Trip by id, and its loader keys stop times while the id is still None,
which makes loading quadratic: over 30 min for the expanded Nairobi feed). Walking
transfers come in the request as ``[from_stop_id, to_stop_id, seconds]``; a subclass of
``RaptorAlgorithm`` overrides only ``add_transfer_time`` to relax them (stock pyraptor
relaxes only platform changes inside a station). loguru output is switched off so logging
does not count against pyraptor.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any


def emit(record: dict[str, Any]) -> None:
    """Print one JSON line and flush it at once."""
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def active_services(feed: Path, date: dt.date | None) -> set[str] | None:
    """service_ids running on ``date`` per calendar.txt and calendar_dates.txt (None = all)."""
    import pandas as pd

    if date is None:
        return None
    ymd = date.strftime("%Y%m%d")
    active: set[str] = set()
    cal_path = feed / "calendar.txt"
    if cal_path.exists():
        cal = pd.read_csv(cal_path, dtype=str)
        day = date.strftime("%A").lower()
        on = cal[(cal[day] == "1") & (cal["start_date"] <= ymd) & (cal["end_date"] >= ymd)]
        active |= set(on["service_id"])
    cd_path = feed / "calendar_dates.txt"
    if cd_path.exists():
        cd = pd.read_csv(cd_path, dtype=str)
        cd = cd[cd["date"] == ymd]
        active |= set(cd.loc[cd["exception_type"] == "1", "service_id"])
        active -= set(cd.loc[cd["exception_type"] == "2", "service_id"])
    return active


def build_timetable(feed: Path, date: dt.date | None, transfers: list[list[Any]]) -> Any:
    """pyraptor Timetable from a GTFS directory (see module docstring)."""
    import numpy as np
    import pandas as pd
    from pyraptor.model.structures import (
        Routes,
        Station,
        Stations,
        Stop,
        Stops,
        Timetable,
        Transfer,
        Transfers,
        Trip,
        Trips,
        TripStopTime,
        TripStopTimes,
    )

    stops_df = pd.read_csv(feed / "stops.txt", dtype=str, keep_default_na=False)
    stations, stops = Stations(), Stops()
    for sid, name in zip(stops_df["stop_id"], stops_df["stop_name"], strict=True):
        station = stations.add(Station(sid, name))
        stop = Stop(sid, sid, station, "?")
        station.add_stop(stop)
        stops.add(stop)

    trips_df = pd.read_csv(feed / "trips.txt", dtype=str, keep_default_na=False)
    services = active_services(feed, date)
    if services is not None:
        trips_df = trips_df[trips_df["service_id"].isin(services)]
    keep = set(trips_df["trip_id"])

    st = pd.read_csv(feed / "stop_times.txt", dtype=str, keep_default_na=False,
                     usecols=["trip_id", "arrival_time", "departure_time", "stop_id",
                              "stop_sequence"])
    st = st[st["trip_id"].isin(keep)].copy()
    st["seq"] = st["stop_sequence"].astype(int)
    st = st.sort_values(["trip_id", "seq"], kind="stable")

    def secs(col: pd.Series) -> np.ndarray:
        hms = col.str.split(":", expand=True).astype(int)
        return (hms[0] * 3600 + hms[1] * 60 + hms[2]).to_numpy()

    arr, dep = secs(st["arrival_time"]), secs(st["departure_time"])
    trip_ids = st["trip_id"].to_numpy()
    stop_ids = st["stop_id"].to_numpy()

    trips, trip_stop_times, routes = Trips(), TripStopTimes(), Routes()
    starts = np.flatnonzero(np.r_[True, trip_ids[1:] != trip_ids[:-1]])
    ends = np.r_[starts[1:], len(trip_ids)]
    for a, b in zip(starts, ends, strict=True):
        trip = Trip()
        trip.hint = trip_ids[a]
        # Give the trip the id Trips.add will give it *before* its stop times are keyed by
        # (trip, stopidx): pyraptor's own loader keys them while id is None, so every key
        # lands in one hash chain and loading is quadratic in stop_times.
        trip.id = trips.last_id
        for idx, row in enumerate(range(a, b)):
            tst = TripStopTime(trip, idx, stops.get(stop_ids[row]), int(arr[row]),
                               int(dep[row]), 0)
            trip_stop_times.add(tst)
            trip.add_stop_time(tst)
        if trip:
            trips.add(trip)
    for trip in trips:
        routes.add(trip)

    transfer_set = Transfers()
    for from_id, to_id, seconds in transfers:
        transfer_set.add(Transfer(from_stop=stops.get(from_id), to_stop=stops.get(to_id),
                                  layovertime=int(seconds)))
    return Timetable(stations=stations, stops=stops, trips=trips,
                     trip_stop_times=trip_stop_times, routes=routes, transfers=transfer_set)


def make_algorithm_class() -> Any:
    """RaptorAlgorithm with walking transfers between stops (only add_transfer_time changes)."""
    from pyraptor.model.raptor import RaptorAlgorithm
    from pyraptor.util import TRANSFER_TRIP

    class WalkingRaptor(RaptorAlgorithm):  # type: ignore[misc]
        def __init__(self, timetable: Any, footpaths: dict[Any, list[Any]]) -> None:
            super().__init__(timetable)
            self.footpaths = footpaths

        def add_transfer_time(self, bag_round_stop: Any, k: int, marked_stops: Any) -> Any:
            new_stops = []
            for current_stop in marked_stops:
                time_sofar = bag_round_stop[k][current_stop].earliest_arrival_time
                for arrive_stop, walk_s in self.footpaths.get(current_stop, ()):
                    new_earliest_arrival = time_sofar + walk_s
                    if new_earliest_arrival < self.bag_star[arrive_stop].earliest_arrival_time:
                        bag_round_stop[k][arrive_stop].update(
                            new_earliest_arrival, TRANSFER_TRIP, current_stop)
                        self.bag_star[arrive_stop].update(
                            new_earliest_arrival, TRANSFER_TRIP, current_stop)
                        new_stops.append(arrive_stop)
            return bag_round_stop, new_stops

    return WalkingRaptor


def route(req: dict[str, Any]) -> None:
    """Earliest arrival per query ``[origin, destination, depart_s]``."""
    from loguru import logger
    from pyraptor.util import LARGE_NUMBER

    logger.remove()
    date = dt.date.fromisoformat(req["date"]) if req.get("date") else None
    t0 = time.perf_counter()
    timetable = build_timetable(Path(req["gtfs_dir"]), date, req["transfers"])
    footpaths: dict[Any, list[Any]] = defaultdict(list)
    for tr in timetable.transfers:
        footpaths[tr.from_stop].append((tr.to_stop, tr.layovertime))
    build_s = time.perf_counter() - t0
    emit({"event": "build", "build_s": build_s, "n_trips": len(timetable.trips),
          "n_routes": len(timetable.routes), "n_stops": len(timetable.stops)})
    algorithm = make_algorithm_class()
    rounds = int(req["rounds"])
    for i in range(int(req.get("start", 0)), len(req["queries"])):
        origin, dest, depart_s = req["queries"][i]
        error = None
        arrival = None
        t0_ns = time.perf_counter_ns()
        c0 = time.process_time_ns()
        try:
            raptor = algorithm(timetable, footpaths)
            raptor.run([timetable.stops.get(origin)], int(depart_s), rounds)
            best = raptor.bag_star[timetable.stops.get(dest)].earliest_arrival_time
            arrival = None if best >= LARGE_NUMBER else int(best)
        except Exception as exc:  # reported per query
            error = f"{type(exc).__name__}: {exc}"
        ms = (time.perf_counter_ns() - t0_ns) / 1e6
        cpu_ms = (time.process_time_ns() - c0) / 1e6
        emit({"i": i, "arrival_s": arrival, "ms": ms, "cpu_ms": cpu_ms, "error": error})
    emit({"event": "done"})


if __name__ == "__main__":
    with open(sys.argv[1]) as fh:
        request = json.load(fh)
    {"route": route}[request["command"]](request)
