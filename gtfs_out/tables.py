"""Turn a :class:`transit.model.Network` into GTFS rows of text, deterministically.

Pure: no I/O. :func:`build_feed_rows` returns, per GTFS file, a header and sorted rows of
already formatted strings; :mod:`gtfs_out.write` only serialises them. The same network
always gives the same rows: files and columns in a fixed order (:data:`FEED_COLUMNS`),
rows sorted by their GTFS key, coordinates with 6 decimals (about 0.1 m), clock times as
``HH:MM:SS`` (hours may exceed 24), distances in metres with 2 decimals.

Frequency-based service (GTFS "frequencies.txt", ``exact_times=0``): every pattern gets one
*template trip* per time band (``trip_id = <pattern_id>_<band>``) whose stop_times start at
the band start, plus one frequencies row ``[start, end)`` with the band's headway.

References
----------
GTFS Schedule reference, https://gtfs.org/documentation/schedule/reference/
(frequencies.txt, stop_times.txt ``timepoint``, routes.txt ``continuous_pickup``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from transit.model import BandTiming, Network, Pattern, Shape, Stop
from transit.sim_geometry import Plane, locate_ordered

__all__ = [
    "DEFAULT_URL",
    "FEED_COLUMNS",
    "SERVICE_ID",
    "FeedRows",
    "build_feed_rows",
    "content_version",
    "format_clock",
    "shape_rows",
    "stop_distances",
    "template_trip_id",
]

#: Files in the order they are written, with their columns in order.
FEED_COLUMNS: dict[str, tuple[str, ...]] = {
    "agency": ("agency_id", "agency_name", "agency_url", "agency_timezone", "agency_lang"),
    "stops": ("stop_id", "stop_name", "stop_lat", "stop_lon", "location_type"),
    "routes": ("route_id", "agency_id", "route_short_name", "route_long_name", "route_type",
               "continuous_pickup", "continuous_drop_off"),
    "trips": ("route_id", "service_id", "trip_id", "trip_headsign", "direction_id", "shape_id"),
    "stop_times": ("trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence",
                   "timepoint", "shape_dist_traveled"),
    "frequencies": ("trip_id", "start_time", "end_time", "headway_secs", "exact_times"),
    "shapes": ("shape_id", "shape_pt_lat", "shape_pt_lon", "shape_pt_sequence",
               "shape_dist_traveled"),
    "calendar": ("service_id", "monday", "tuesday", "wednesday", "thursday", "friday",
                 "saturday", "sunday", "start_date", "end_date"),
    "feed_info": ("feed_publisher_name", "feed_publisher_url", "feed_lang", "feed_start_date",
                  "feed_end_date", "feed_version", "feed_contact_email", "feed_contact_url"),
}

#: The one service of an inferred network: every day between start_date and end_date.
SERVICE_ID = "daily"
#: Used for agency_url / feed_publisher_url when the network gives none (a URL is required).
DEFAULT_URL = "https://gtfs.org/"
_EARTH_RADIUS_M = 6_371_008.8

FeedRows = dict[str, tuple[tuple[str, ...], list[tuple[str, ...]]]]


def format_clock(clock_s: int) -> str:
    """``HH:MM:SS`` for seconds since service-day midnight (hours may exceed 23)."""
    if clock_s < 0:
        raise ValueError(f"negative clock time {clock_s} s")
    h, rem = divmod(int(clock_s), 3600)
    m, s = divmod(rem, 60)
    return f"{h:02d}:{m:02d}:{s:02d}"


def _coord(value: float) -> str:
    text = f"{value:.6f}"
    return "0.000000" if text == "-0.000000" else text


def template_trip_id(pattern: Pattern, timing: BandTiming) -> str:
    """The template trip of ``pattern`` in one band: ``<pattern_id>_<band>``."""
    return f"{pattern.pattern_id}_{timing.band}"


def shape_rows(shape: Shape) -> list[tuple[str, ...]]:
    """Rows of shapes.txt for one shape.

    Points that repeat the previous one once rounded to 6 decimals are dropped, so that
    ``shape_dist_traveled`` (metres along the path, 2 decimals) strictly increases, as
    validators require.
    """
    lat = np.asarray(shape.lat, dtype=np.float64)
    lon = np.asarray(shape.lon, dtype=np.float64)
    ok = np.isfinite(lat) & np.isfinite(lon)
    tlat = np.char.mod("%.6f", lat[ok]).tolist()
    tlon = np.char.mod("%.6f", lon[ok]).tolist()
    tlat = ["0.000000" if v == "-0.000000" else v for v in tlat]
    tlon = ["0.000000" if v == "-0.000000" else v for v in tlon]
    if not tlat:
        return []
    keep = [0] + [i for i in range(1, len(tlat))
                  if tlat[i] != tlat[i - 1] or tlon[i] != tlon[i - 1]]
    rlat = np.array([float(tlat[i]) for i in keep])
    rlon = np.array([float(tlon[i]) for i in keep])
    p1, p2 = np.radians(rlat[:-1]), np.radians(rlat[1:])
    a = (np.sin((p2 - p1) / 2) ** 2
         + np.cos(p1) * np.cos(p2) * np.sin(np.radians(np.diff(rlon)) / 2) ** 2)
    step_m = 2 * _EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a)))
    dist_cm = np.round(np.concatenate([[0.0], np.cumsum(step_m)]) * 100).astype(np.int64)
    rows: list[tuple[str, ...]] = []
    last_cm = -1
    for j, i in enumerate(keep):
        cm = int(dist_cm[j])
        if cm <= last_cm:  # a step under 1 cm: cannot strictly increase, drop the point
            continue
        rows.append((shape.shape_id, tlat[i], tlon[i], str(len(rows) + 1),
                     f"{cm // 100}.{cm % 100:02d}"))
        last_cm = cm
    return rows


def stop_distances(stops: Sequence[Stop], rows: list[tuple[str, ...]]) -> list[str] | None:
    """``shape_dist_traveled`` (metres, 2 decimals) of ``stops`` along a shape written as
    ``rows`` (from :func:`shape_rows`), or None when they cannot strictly increase.

    Stops are located on the shape in order (:func:`transit.sim_geometry.locate_ordered`),
    interpolating the shape's own distances; equal positions are nudged 1 cm apart and
    the last never exceeds the shape's length, as validators require.
    """
    if len(rows) < 2:
        return None
    lat = np.array([float(r[1]) for r in rows])
    lon = np.array([float(r[2]) for r in rows])
    dist_cm = np.array([round(float(r[4]) * 100) for r in rows], dtype=np.int64)
    plane = Plane(float(lat.mean()), float(lon.mean()))
    px, py = plane.to_xy(lat, lon)
    sx, sy = plane.to_xy(np.array([float(_coord(st.stop_lat)) for st in stops]),
                         np.array([float(_coord(st.stop_lon)) for st in stops]))
    seg, frac, _ = locate_ordered(px, py, sx, sy)
    at = np.round(dist_cm[seg] + frac * (dist_cm[seg + 1] - dist_cm[seg])).astype(np.int64)
    total = int(dist_cm[-1])
    n = len(at)
    if total < n - 1:
        return None
    at = np.maximum.accumulate(np.minimum(at, total))
    for i in range(1, n):  # strictly increasing, 1 cm at least
        at[i] = max(at[i], at[i - 1] + 1)
    for i in range(n - 1, -1, -1):  # never past the end of the shape
        limit = total if i == n - 1 else at[i + 1] - 1
        at[i] = min(at[i], limit)
    if at[0] < 0:
        return None
    return [f"{v // 100}.{v % 100:02d}" for v in at.tolist()]


def _stop_time_rows(pattern: Pattern, timing: BandTiming,
                    dists: list[str] | None) -> list[tuple[str, ...]]:
    n = len(pattern.stop_ids)
    if len(timing.run_times_s) != n - 1 or len(timing.dwell_s) != n:
        raise ValueError(
            f"pattern {pattern.pattern_id} band {timing.band}: {n} stops need {n - 1} run "
            f"times and {n} dwells, got {len(timing.run_times_s)} and {len(timing.dwell_s)}")
    trip_id = template_trip_id(pattern, timing)
    timepoint = "0" if timing.times_estimated else "1"
    rows: list[tuple[str, ...]] = []
    clock_s = int(timing.start_s)
    for i, stop_id in enumerate(pattern.stop_ids):
        arrival = clock_s
        departure = arrival + max(0, int(timing.dwell_s[i]))
        rows.append((trip_id, format_clock(arrival), format_clock(departure), stop_id,
                     str(i + 1), timepoint, "" if dists is None else dists[i]))
        if i < n - 1:
            clock_s = departure + max(0, int(timing.run_times_s[i]))
    return rows


def _stop_name(stop: Stop) -> str:
    return stop.stop_name.strip() or f"Stop {stop.stop_id}"


def _opt_int(value: int | None) -> str:
    return "" if value is None else str(int(value))


def _sorted(rows: list[tuple[str, ...]], key_cols: Sequence[int],
            int_cols: Sequence[int] = ()) -> list[tuple[str, ...]]:
    def key(row: tuple[str, ...]) -> tuple[object, ...]:
        return tuple(int(row[i]) if i in int_cols else row[i] for i in key_cols)
    return sorted(rows, key=key)


def content_version(rows: FeedRows) -> str:
    """A feed version derived from the rows: ``sha256:`` and 12 hex digits."""
    h = hashlib.sha256()
    for name in sorted(rows):
        header, body = rows[name]
        h.update(name.encode())
        h.update("\x1f".join(header).encode())
        for row in body:
            h.update("\x1e".join(row).encode())
    return f"sha256:{h.hexdigest()[:12]}"


def build_feed_rows(network: Network) -> FeedRows:
    """GTFS files of ``network`` as ``{file stem: (header, sorted rows of text)}``.

    An empty ``feed_version`` becomes :func:`content_version` of the other files.
    Patterns without timings get no trip (they cannot be scheduled); shapes and stops no
    pattern uses are left out, so the feed has no unused entities. Optional route columns
    (``continuous_pickup`` / ``continuous_drop_off``) appear only when a route sets them.

    Raises
    ------
    ValueError
        When a pattern's timing does not fit its stop count, or a pattern names a stop or
        shape the network lacks (a builder bug, not user input).
    """
    stop_by_id = {s.stop_id: s for s in network.stops}
    shape_by_id = {s.shape_id: s for s in network.shapes}
    url = network.agency_url or DEFAULT_URL
    lang = network.feed_lang or "en"
    out: FeedRows = {}

    out["agency"] = (FEED_COLUMNS["agency"], [(
        network.agency_id, network.agency_name.strip() or "Unknown operator", url,
        network.agency_timezone, lang)])

    trips: list[tuple[str, ...]] = []
    stop_times: list[tuple[str, ...]] = []
    freqs: list[tuple[str, ...]] = []
    used_stops: set[str] = set()
    used_shapes: set[str] = set()
    used_routes: set[str] = set()
    shape_rows_by_id: dict[str, list[tuple[str, ...]]] = {}
    dist_cache: dict[tuple[str, tuple[str, ...]], list[str] | None] = {}
    for pattern in network.patterns:
        missing = [s for s in pattern.stop_ids if s not in stop_by_id]
        if missing:
            raise ValueError(f"pattern {pattern.pattern_id} names unknown stops {missing[:3]}")
        if pattern.shape_id is not None and pattern.shape_id not in shape_by_id:
            raise ValueError(f"pattern {pattern.pattern_id} names unknown shape "
                             f"{pattern.shape_id}")
        if len(pattern.stop_ids) < 2 or not pattern.timings:
            continue
        headsign = _stop_name(stop_by_id[pattern.stop_ids[-1]])
        for timing in pattern.timings:
            if timing.end_s <= timing.start_s or timing.headway_s <= 0:
                continue
            trip_id = template_trip_id(pattern, timing)
            trips.append((pattern.route_id, SERVICE_ID, trip_id, headsign,
                          str(int(pattern.direction_id)), pattern.shape_id or ""))
            key = (pattern.shape_id or "", pattern.stop_ids)
            if key not in dist_cache:
                dist_cache[key] = None if not pattern.shape_id else stop_distances(
                    [stop_by_id[x] for x in pattern.stop_ids],
                    shape_rows_by_id.setdefault(pattern.shape_id,
                                                shape_rows(shape_by_id[pattern.shape_id])))
            stop_times.extend(_stop_time_rows(pattern, timing, dist_cache[key]))
            freqs.append((trip_id, format_clock(timing.start_s), format_clock(timing.end_s),
                          str(int(timing.headway_s)), "0"))
            used_stops.update(pattern.stop_ids)
            used_routes.add(pattern.route_id)
            if pattern.shape_id:
                used_shapes.add(pattern.shape_id)

    out["stops"] = (FEED_COLUMNS["stops"], _sorted([
        (s.stop_id, _stop_name(s), _coord(s.stop_lat), _coord(s.stop_lon), "0")
        for s in network.stops if s.stop_id in used_stops], [0]))

    route_rows: list[tuple[str, ...]] = [
        (r.route_id, network.agency_id,
         r.route_short_name.strip() or ("" if r.route_long_name.strip() else r.route_id),
         r.route_long_name.strip(),
         str(int(r.route_type)), _opt_int(r.continuous_pickup), _opt_int(r.continuous_drop_off))
        for r in network.routes if r.route_id in used_routes]
    route_cols = FEED_COLUMNS["routes"]
    if all(r[5] == "" and r[6] == "" for r in route_rows):
        route_cols = route_cols[:5]
        route_rows = [r[:5] for r in route_rows]
    out["routes"] = (route_cols, _sorted(route_rows, [0]))
    out["trips"] = (FEED_COLUMNS["trips"], _sorted(trips, [2]))
    st_cols = FEED_COLUMNS["stop_times"]
    if any(d is None for d in dist_cache.values()):  # all trips have distances, or none
        st_cols = st_cols[:-1]
        stop_times = [r[:-1] for r in stop_times]
    out["stop_times"] = (st_cols, _sorted(stop_times, [0, 4], [4]))
    out["frequencies"] = (FEED_COLUMNS["frequencies"], _sorted(freqs, [0, 1]))
    shapes: list[tuple[str, ...]] = []
    for shape_id in sorted(used_shapes):
        shapes.extend(shape_rows_by_id.get(shape_id) or shape_rows(shape_by_id[shape_id]))
    out["shapes"] = (FEED_COLUMNS["shapes"], shapes)
    out["calendar"] = (FEED_COLUMNS["calendar"], [
        (SERVICE_ID, "1", "1", "1", "1", "1", "1", "1", network.start_date, network.end_date)])
    publisher_url = network.feed_publisher_url or url
    version = network.feed_version or content_version(out)
    out["feed_info"] = (FEED_COLUMNS["feed_info"], [(
        network.feed_publisher_name.strip() or network.agency_name.strip() or "Unknown publisher",
        publisher_url, lang, network.start_date, network.end_date, version,
        network.extra.get("feed_contact_email", ""),
        network.extra.get("feed_contact_url", publisher_url))])
    return out
