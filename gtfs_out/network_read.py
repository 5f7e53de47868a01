"""Read a GTFS feed back into a :class:`transit.model.Network` (the writer's inverse).

Used by the simulator (to ride a real feed) and by evaluation (built feed vs truth feed).
:func:`network_from_tables` is pure; :func:`read_network` reads a path and calls it.

Patterns are the distinct ``(route_id, direction_id, shape_id, stop sequence)`` of the
feed's trips. Timing per time band:

* frequency-based trips: each frequencies.txt window becomes one :class:`BandTiming`,
  named after the :data:`~transit.model.DEFAULT_TIME_BANDS` band it overlaps most, with
  the trip's stop-to-stop run times and dwells (the feeds this project writes have one
  template trip per band, so names and times round-trip exactly);
* timetabled trips: grouped by the band of their first departure; run times and dwells
  are per-segment medians, the headway is the band length over the number of trips.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

from gtfs_out.read import GtfsTables, read_feed
from gtfs_out.rules._common import column, ordered_stop_times, parse_clocks, to_float
from transit.errors import FeedError
from transit.model import DEFAULT_TIME_BANDS, BandTiming, Network, Pattern, Route, Shape, Stop

__all__ = ["band_for_window", "network_from_tables", "read_network"]


def band_for_window(start_s: int, end_s: int) -> str:
    """Name of the default band overlapping ``[start_s, end_s)`` most (ties: earliest);
    ``"HH:MM-HH:MM"`` when none overlaps."""
    best, best_overlap = "", 0
    for band in DEFAULT_TIME_BANDS:
        overlap = min(end_s, band.end_s) - max(start_s, band.start_s)
        if overlap > best_overlap:
            best, best_overlap = band.name, overlap
    if best:
        return best
    return f"{start_s // 3600:02d}:{start_s % 3600 // 60:02d}-{end_s // 3600:02d}:" \
           f"{end_s % 3600 // 60:02d}"


def _stops(feed: GtfsTables) -> tuple[Stop, ...]:
    st = feed["stops"]
    lat, lon = to_float(column(st, "stop_lat")), to_float(column(st, "stop_lon"))
    out = []
    for sid, name, la, lo in zip(column(st, "stop_id"), column(st, "stop_name"), lat, lon,
                                 strict=True):
        if np.isfinite(la) and np.isfinite(lo):
            out.append(Stop(stop_id=sid, stop_name=name, stop_lat=float(la), stop_lon=float(lo),
                            name_source="feed"))
    return tuple(out)


def _shapes(feed: GtfsTables) -> tuple[Shape, ...]:
    shp = feed.get("shapes")
    if shp is None or shp.empty:
        return ()
    frame = shp.assign(_seq=to_float(column(shp, "shape_pt_sequence")),
                       _lat=to_float(column(shp, "shape_pt_lat")),
                       _lon=to_float(column(shp, "shape_pt_lon")))
    out = []
    for shape_id, pts in frame.sort_values(["shape_id", "_seq"], kind="stable").groupby(
            "shape_id", sort=True):
        out.append(Shape(str(shape_id), tuple(float(v) for v in pts["_lat"]),
                         tuple(float(v) for v in pts["_lon"])))
    return tuple(out)


def _routes(feed: GtfsTables) -> tuple[Route, ...]:
    r = feed["routes"]
    def opt(col: str, i: int) -> int | None:
        text = column(r, col).iloc[i].strip()
        return int(text) if text.isdigit() else None
    types = column(r, "route_type")
    return tuple(
        Route(route_id=rid, route_short_name=column(r, "route_short_name").iloc[i],
              route_long_name=column(r, "route_long_name").iloc[i],
              route_type=int(types.iloc[i]) if types.iloc[i].strip().isdigit() else 3,
              continuous_pickup=opt("continuous_pickup", i),
              continuous_drop_off=opt("continuous_drop_off", i))
        for i, rid in enumerate(column(r, "route_id")))


def _trip_times(st: pd.DataFrame) -> dict[str, tuple[tuple[str, ...], np.ndarray, np.ndarray]]:
    """trip_id -> (stop ids, arrival s, departure s), missing times interpolated."""
    out = {}
    for trip_id, rows in st.groupby("trip_id", sort=True):
        arr, dep = rows["_arr"].to_numpy(), rows["_dep"].to_numpy()
        arr = np.where(np.isnan(arr), dep, arr)
        dep = np.where(np.isnan(dep), arr, dep)
        known = ~np.isnan(arr)
        if known.sum() < 2:
            continue
        idx = np.arange(len(arr))
        arr = np.interp(idx, idx[known], arr[known])
        dep = np.maximum(np.interp(idx, idx[known], dep[known]), arr)
        out[str(trip_id)] = (tuple(rows["stop_id"].astype(str)), arr, dep)
    return out


def _timing(band: str, start_s: int, end_s: int, arr: np.ndarray, dep: np.ndarray,
            headway_s: int, estimated: bool, n_obs: int) -> BandTiming:
    runs = tuple(round(v) for v in np.maximum(arr[1:] - dep[:-1], 0))
    dwells = tuple(round(v) for v in np.maximum(dep - arr, 0))
    return BandTiming(band=band, start_s=start_s, end_s=end_s, run_times_s=runs,
                      dwell_s=dwells, headway_s=max(1, headway_s), headway_source="given",
                      n_observations=n_obs, times_estimated=estimated)


def _common_pattern_id(trip_ids: list[str],
                       windows: dict[str, list[tuple[int, int, int]]]) -> str:
    """``<pattern_id>`` when every trip id is ``<pattern_id>_<band>`` (as written by
    :mod:`gtfs_out.write`), else the first trip id."""
    stems = set()
    for tid in trip_ids:
        spans = windows.get(tid, [])
        suffix = f"_{band_for_window(spans[0][0], spans[0][1])}" if len(spans) == 1 else ""
        stems.add(tid[: -len(suffix)] if suffix and tid.endswith(suffix) else None)
    stem = stems.pop() if len(stems) == 1 else None
    return stem or trip_ids[0]


def network_from_tables(feed: GtfsTables) -> Network:
    """The feed as a :class:`Network` (see the module docstring for the mapping).

    Raises
    ------
    FeedError
        When no trip has at least two timed stops.
    """
    trips = feed["trips"]
    st = ordered_stop_times(feed["stop_times"])
    times = _trip_times(st)
    if not times:
        raise FeedError("no trip has two stop times with times", where=feed.source,
                        fix="give a feed whose stop_times.txt has arrival/departure times")
    timepoint = dict(zip(st["trip_id"], column(st, "timepoint"), strict=True))
    freq = feed.get("frequencies")
    windows: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    if freq is not None and not freq.empty:
        starts, ends = parse_clocks(column(freq, "start_time")), parse_clocks(
            column(freq, "end_time"))
        heads = to_float(column(freq, "headway_secs"))
        for t, s, e, h in zip(column(freq, "trip_id"), starts, ends, heads, strict=True):
            if np.isfinite(s) and np.isfinite(e) and np.isfinite(h) and e > s and h > 0:
                windows[t].append((int(s), int(e), int(h)))
    groups: dict[tuple[str, int, str, tuple[str, ...]], list[str]] = defaultdict(list)
    for tid, rid, did, shp in zip(column(trips, "trip_id"), column(trips, "route_id"),
                                  column(trips, "direction_id"), column(trips, "shape_id"),
                                  strict=True):
        if tid in times:
            key = (rid, int(did) if did.strip().isdigit() else 0, shp, times[tid][0])
            groups[key].append(tid)
    patterns = []
    for (rid, did, shp, stop_ids), trip_ids in sorted(groups.items()):
        trip_ids = sorted(trip_ids)
        timings: list[BandTiming] = []
        timed: dict[str, list[str]] = defaultdict(list)
        for tid in trip_ids:
            _, arr, dep = times[tid]
            estimated = timepoint.get(tid, "") == "0"
            for s, e, h in sorted(windows.get(tid, [])):
                timings.append(_timing(band_for_window(s, e), s, e, arr - arr[0] + s,
                                       dep - arr[0] + s, h, estimated, 1))
            if tid not in windows:
                timed[band_for_window(int(dep[0]), int(dep[0]) + 1)].append(tid)
        for band_name, tids in sorted(timed.items()):
            band = next((b for b in DEFAULT_TIME_BANDS if b.name == band_name), None)
            start = band.start_s if band else int(times[tids[0]][2][0])
            end = band.end_s if band else start + 3600
            arr = np.median([times[t][1] - times[t][1][0] for t in tids], axis=0) + start
            dep = np.median([times[t][2] - times[t][1][0] for t in tids], axis=0) + start
            timings.append(_timing(band_name, start, end, arr, dep, (end - start) // len(tids),
                                   False, len(tids)))
        timings.sort(key=lambda b: (b.start_s, b.band))
        pattern_id = _common_pattern_id(trip_ids, windows)
        patterns.append(Pattern(pattern_id=pattern_id, route_id=rid, direction_id=did,
                                stop_ids=stop_ids, shape_id=shp or None,
                                timings=tuple(timings), support_traces=len(trip_ids)))
    agency = feed["agency"]
    info = feed.get("feed_info")
    cal = feed.get("calendar")
    def first(frame: pd.DataFrame | None, col: str) -> str:
        return "" if frame is None or frame.empty else column(frame, col).iloc[0]
    return Network(
        agency_name=first(agency, "agency_name"), agency_url=first(agency, "agency_url"),
        agency_timezone=first(agency, "agency_timezone"), stops=_stops(feed),
        routes=_routes(feed), patterns=tuple(patterns), shapes=_shapes(feed),
        start_date=first(cal, "start_date") or first(info, "feed_start_date"),
        end_date=first(cal, "end_date") or first(info, "feed_end_date"),
        feed_version=first(info, "feed_version"), feed_lang=first(info, "feed_lang") or "en",
        feed_publisher_name=first(info, "feed_publisher_name"),
        feed_publisher_url=first(info, "feed_publisher_url"),
        agency_id=first(agency, "agency_id") or "1")


def read_network(path: str | Path) -> Network:
    """Read the GTFS zip or folder at ``path`` as a :class:`Network`."""
    return network_from_tables(read_feed(path))
