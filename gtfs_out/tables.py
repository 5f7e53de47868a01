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
import math
from collections.abc import Sequence

from transit.model import BandTiming, Network, Pattern, Shape, Stop

__all__ = [
    "DEFAULT_URL",
    "FEED_COLUMNS",
    "SERVICE_ID",
    "FeedRows",
    "build_feed_rows",
    "content_version",
    "format_clock",
    "shape_rows",
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
                   "timepoint"),
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


def _haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def shape_rows(shape: Shape) -> list[tuple[str, ...]]:
    """Rows of shapes.txt for one shape.

    Points that repeat the previous one once rounded to 6 decimals are dropped, so that
    ``shape_dist_traveled`` (metres along the path, 2 decimals) strictly increases, as
    validators require.
    """
    rows: list[tuple[str, ...]] = []
    prev_lat = prev_lon = ""
    prev_rlat = prev_rlon = 0.0
    dist_m = 0.0
    prev_dist = ""
    for lat, lon in zip(shape.lat, shape.lon, strict=True):
        if not (math.isfinite(lat) and math.isfinite(lon)):
            continue
        tlat, tlon = _coord(lat), _coord(lon)
        if (tlat, tlon) == (prev_lat, prev_lon):
            continue
        rlat, rlon = float(tlat), float(tlon)
        if rows:
            dist_m += _haversine_m(prev_rlat, prev_rlon, rlat, rlon)
        tdist = f"{dist_m:.2f}"
        if rows and tdist == prev_dist:
            continue
        rows.append((shape.shape_id, tlat, tlon, str(len(rows) + 1), tdist))
        prev_lat, prev_lon, prev_rlat, prev_rlon, prev_dist = tlat, tlon, rlat, rlon, tdist
    return rows


def _stop_time_rows(pattern: Pattern, timing: BandTiming) -> list[tuple[str, ...]]:
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
                     str(i + 1), timepoint))
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
            stop_times.extend(_stop_time_rows(pattern, timing))
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
    out["stop_times"] = (FEED_COLUMNS["stop_times"], _sorted(stop_times, [0, 4], [4]))
    out["frequencies"] = (FEED_COLUMNS["frequencies"], _sorted(freqs, [0, 1]))
    shapes: list[tuple[str, ...]] = []
    for shape_id in sorted(used_shapes):
        shapes.extend(shape_rows(shape_by_id[shape_id]))
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
