"""Read GeoJSON traces (RFC 7946) into a :class:`~transit.traces.TraceSet`.

Accepted: a FeatureCollection, a single Feature, or a bare geometry. Property names are
matched case-insensitively; coordinates are ``[lon, lat(, ele)]`` in WGS84.

What becomes what
-----------------
* **Point with a time property** (``time``, ``timestamp``, ``datetime``, ``time_utc``...):
  a positionfix. Points are grouped into traces by a trace-id property (``trace_id``,
  ``track_id``, ``trip_id``...); points without one form a single trace named after the
  source file. ``device_id``/``imei``/``unit_id`` give the device; ``accuracy_m``,
  ``accuracy``, ``hacc`` (m) or ``hdop`` (× 5 m) the accuracy; ``speed_mps``, ``speed``
  (m/s) or ``speed_kmh`` the speed; the third coordinate, else ``ele``/``altitude``, the
  altitude. A Point that is neither a stop nor timed is rejected (``missing_value``).
* **LineString, MultiLineString or MultiPoint with per-vertex times** in ``coordTimes`` or
  ``times`` (the togeojson / Strava layout; nested lists for MultiLineString, or one flat
  list over all its vertices): one trace per feature, keyed by its trace-id property
  (features and points sharing one are merged), else its ``name``/``title`` property (not
  an app's default such as OSMTracker's) or the feature ``id``, else the file's stem, or
  ``<stem> feature-<i>`` when several lines are unnamed; repeated keys get ``#2``... Per-vertex
  ``speed``/``accuracy``/``ele`` lists of the same length are used too. A times list whose
  length does not match the vertices rejects the whole feature.
* **Field stop**: a Point that is *marked* as a stop — a truthy ``stop``/``is_stop``/
  ``marker`` property, or ``type``/``kind``/``category``/``feature_type`` equal to ``stop``,
  ``waypoint``, ``wpt``, ``marker`` or ``field_stop`` — or a Point with a name and no time
  property, or (when the traces come as timed lines, the togeojson layout of a GPX file) a
  named Point without a trace-id property. Its time (if any) comes from the time
  property; ``boardings``/``alightings`` are kept. It joins the trace named by its
  trace-id property, else the first trace whose time span contains it, else the first
  trace (a file of stops only gets one trace named after the source).
* Trace metadata comes from the first feature of each trace: ``route_name`` from
  ``route_name``/``route``/``line``/``desc``; ``vehicle_type`` from ``vehicle_type``/
  ``mode``/``vehicle``, else a ``type`` that is not a stop marker.

Other geometries (polygons, lines without times, null geometry) are skipped. A fix whose
coordinate is missing, NaN or not a number, or whose time is missing or unparsable, is a
:class:`~transit.traces.RowRejection` with ``where="features[i]"`` (0-based, as in the JSON
array) or ``"features[i] vertex j"``; coordinates are not range-checked (the cleaner
does). Every fix comes back with ``reason == 0``.

A legacy ``crs`` member naming another system than WGS84 (e.g. EPSG:3857) is refused.
The whole document is parsed in memory (``json``); stream very large traces as CSV or GPX.
"""

from __future__ import annotations

import json
import re
from typing import BinaryIO

from gps_ingest._assemble import (
    PendingStop,
    attach_stops,
    cap_rejections,
    is_default_name,
    optional_number,
    source_key,
    unique_keys,
)
from gps_ingest._geojson_props import (
    DEVICE_KEYS,
    LINE_TIME_KEYS,
    NAME_KEYS,
    ROUTE_KEYS,
    TIME_KEYS,
    TRACE_KEYS,
    count_value,
    is_stop,
    is_timed_line,
    lookup,
    lower_keys,
    per_vertex,
    point_extras,
    text_value,
    vehicle_type,
)
from gps_ingest._geojson_rows import FixRows, lon_lat, order_key, where_text
from gps_ingest.timeparse import check_timezone, parse_instants
from transit.errors import FormatError
from transit.traces import Reason, RowRejection, TraceMeta, TraceSet

__all__ = ["read_geojson", "sniff_geojson"]

_GEOMETRIES = frozenset({"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                         "MultiPolygon", "GeometryCollection"})
_FIX_HINT = ("upload GeoJSON Point features with a time property, or LineStrings with "
             "per-vertex coordTimes")


def sniff_geojson(head: bytes) -> bool:
    """True when ``head`` (the first few KB of a file) looks like GeoJSON.

    A JSON object (after an optional byte-order mark and whitespace) that names a GeoJSON
    ``"type"`` (FeatureCollection, Feature or a geometry) within the head.
    """
    text = _decode(head).lstrip()
    if not text.startswith("{"):
        return False
    return _TYPE.search(text) is not None


_TYPE = re.compile(r'"type"\s*:\s*"(FeatureCollection|Feature|Point|MultiPoint|LineString|'
                   r'MultiLineString|Polygon|MultiPolygon|GeometryCollection)"')


def _decode(data: bytes) -> str:
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"),
                       (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(codec, errors="ignore")
    return data.decode("utf-8", errors="ignore")


def read_geojson(stream: BinaryIO, *, source: str, timezone: str = "UTC") -> TraceSet:
    """Read a GeoJSON file of traces.

    Parameters
    ----------
    stream
        The file, opened in binary mode (read whole).
    source
        Name of the file or upload, used in messages and to name a trace when needed.
    timezone
        IANA zone of times written without a zone.

    Returns
    -------
    TraceSet
        Fixes with ``reason == 0`` and ``trace_index`` into ``traces``; field stops;
        rejected features/vertices.

    Raises
    ------
    InputError
        ``timezone`` is not an IANA zone name.
    FormatError
        Empty, not JSON (including truncated), not GeoJSON, or no usable fix and no stop.
    """
    check_timezone(timezone)
    data = stream.read()
    if not data.strip():
        raise FormatError("the file is empty", where=source, fix=_FIX_HINT)
    try:
        doc = json.loads(_decode_strict(data, source))
    except json.JSONDecodeError as exc:
        raise FormatError(f"not valid JSON ({exc.msg})",
                          where=f"{source} line {exc.lineno} column {exc.colno}",
                          fix="upload the complete file as exported") from None
    except RecursionError:
        raise FormatError("JSON nested too deeply", where=source, fix=_FIX_HINT) from None
    return _read_document(doc, source, timezone)


def _decode_strict(data: bytes, source: str) -> str:
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text (byte {exc.start})", where=source,
                          fix="save the GeoJSON as UTF-8") from None


def _features(doc: object, source: str) -> list[object]:
    kind = doc.get("type") if isinstance(doc, dict) else None
    _check_crs(doc, source)
    if kind == "FeatureCollection":
        features = doc.get("features") if isinstance(doc, dict) else None
        if not isinstance(features, list):
            raise FormatError("the FeatureCollection has no 'features' list", where=source,
                              fix=_FIX_HINT)
        return features
    if kind == "Feature":
        return [doc]
    if kind in _GEOMETRIES:
        return [{"type": "Feature", "geometry": doc, "properties": {}}]
    raise FormatError(f"not GeoJSON: the top level is {_describe(doc)}", where=source,
                      fix=_FIX_HINT)


_WGS84_CRS = re.compile(r"(CRS84|EPSG:*4326|EPSG::4326)$", re.IGNORECASE)


def _check_crs(doc: object, source: str) -> None:
    """Refuse a pre-RFC 7946 ``crs`` member naming anything but WGS84 longitude/latitude."""
    crs = doc.get("crs") if isinstance(doc, dict) else None
    props = crs.get("properties") if isinstance(crs, dict) else None
    name = props.get("name") if isinstance(props, dict) else None
    if isinstance(name, str) and not _WGS84_CRS.search(name.strip()):
        raise FormatError(f"coordinates are in {name!r}, not WGS84 longitude/latitude",
                          where=f"{source} crs",
                          fix="export the GeoJSON in WGS84 (EPSG:4326), as RFC 7946 requires")


def _describe(doc: object) -> str:
    if isinstance(doc, dict):
        kind = doc.get("type")
        return f"an object of type {kind!r}" if kind is not None else "an object without 'type'"
    return f"a JSON {type(doc).__name__}"


class _Builder:
    """Traces, fixes and stops as features are visited."""

    def __init__(self, source: str, timezone: str) -> None:
        self.source = source
        self.rows = FixRows(timezone)
        self.labels: list[str | None] = []  # None: unnamed line, keyed from the source
        self.fallbacks: list[str] = []  # "feature-<i>" of each trace's first feature
        self.props: list[dict[str, object]] = []  # properties of each trace's first feature
        self.groups: dict[str, int] = {}  # trace-id property value or "" -> trace index
        self.stops: list[tuple[int, PendingStop, str | None]] = []  # (feature, stop, group)
        self.stop_times: list[object] = []
        self.rejections: list[tuple[int, RowRejection]] = []
        self.skipped = 0
        self.lines_have_times = False  # then named Points without a trace id are waypoints

    def trace_for(self, group: str | None, label: str | None, props: dict[str, object],
                  fallback: str = "") -> int:
        """The trace index for a group key (shared), or a new trace when ``group`` is None."""
        if group is not None and group in self.groups:
            return self.groups[group]
        index = len(self.labels)
        self.labels.append(label)
        self.fallbacks.append(fallback)
        self.props.append(props)
        if group is not None:
            self.groups[group] = index
        return index

    def reject(self, feature: int, reason: Reason, detail: str) -> None:
        """Reject a whole feature."""
        self.rejections.append((order_key(feature), RowRejection(
            where=where_text(feature), reason=reason, detail=detail)))


def _read_document(doc: object, source: str, timezone: str) -> TraceSet:
    b = _Builder(source, timezone)
    features = _features(doc, source)
    b.lines_have_times = any(is_timed_line(f) for f in features)
    for i, feature in enumerate(features):
        _read_feature(b, i, feature)
    fixes, bad = b.rows.finish()
    rejections = sorted(b.rejections + bad, key=lambda pair: pair[0])
    stops = _stops(b, timezone, rejections)
    if not len(fixes) and not stops:
        detail = ""
        if rejections:
            first = rejections[0][1]
            detail = (f"; {len(rejections)} positions were unreadable, the first: "
                      f"{first.where}: {first.reason.code}")
        elif b.skipped:
            detail = f"; {b.skipped} features have no timed Point or LineString"
        raise FormatError(f"no usable positionfix and no stop{detail}", where=source,
                          fix=_FIX_HINT)
    traces = _metas(b)
    if stops and not traces:
        traces.append(TraceMeta(trace_key=source_key(source)))
    kept, overflow = cap_rejections([r for _, r in rejections])
    return TraceSet(traces=traces, fixes=fixes, field_stops=attach_stops(stops, traces, fixes),
                    rejections=kept, rejection_overflow=overflow)


def _metas(b: _Builder) -> list[TraceMeta]:
    stem = source_key(b.source)
    unnamed = b.labels.count(None)
    keys = unique_keys([label or (stem if unnamed == 1 else f"{stem} {fallback}")
                        for label, fallback in zip(b.labels, b.fallbacks, strict=True)])
    return [
        TraceMeta(trace_key=key,
                  device_id=text_value(lookup(props, DEVICE_KEYS)),
                  route_name=text_value(lookup(props, ROUTE_KEYS)),
                  vehicle_type=vehicle_type(props))
        for key, props in zip(keys, b.props, strict=True)
    ]


def _read_feature(b: _Builder, i: int, feature: object) -> None:
    if not isinstance(feature, dict):
        b.skipped += 1
        return
    geometry = feature.get("geometry")
    raw_props = feature.get("properties")
    props = lower_keys(raw_props if isinstance(raw_props, dict) else {})
    if not isinstance(geometry, dict):
        b.skipped += 1
        return
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    group = text_value(lookup(props, TRACE_KEYS))
    if kind == "Point":
        _read_point(b, i, coords, props, group)
        return
    if kind in ("LineString", "MultiPoint", "MultiLineString"):
        parts = _parts(kind, coords)
        times = lookup(props, LINE_TIME_KEYS)
        if parts is None or times is None:
            b.skipped += 1
            return
        name = text_value(lookup(props, NAME_KEYS))
        if name is not None and is_default_name(name):
            name = None
        label = group or name or text_value(feature.get("id"))
        _read_line(b, i, parts, times, props, group, label)
        return
    b.skipped += 1


def _parts(kind: object, coords: object) -> list[list[object]] | None:
    if not isinstance(coords, list):
        return None
    if kind == "MultiLineString":
        return [part if isinstance(part, list) else [part] for part in coords]
    return [coords]


def _read_point(b: _Builder, i: int, coords: object, props: dict[str, object],
                group: str | None) -> None:
    time = lookup(props, TIME_KEYS)
    if is_stop(props, time is not None, b.lines_have_times):
        lon, lat, reason = lon_lat(coords)
        if reason != Reason.OK:
            b.reject(i, reason, f"coordinates {coords!r}")
            return
        stop = PendingStop(lat=lat, lon=lon, time_ms=None,
                           name=text_value(lookup(props, NAME_KEYS)),
                           boardings=count_value(lookup(props, ("boardings", "boarding"))),
                           alightings=count_value(lookup(props, ("alightings", "alighting"))))
        b.stops.append((i, stop, group))
        b.stop_times.append(time)
        return
    if time is None:
        b.reject(i, Reason.MISSING_VALUE, "no time property")
        return
    trace = b.trace_for(group if group is not None else "", group or source_key(b.source),
                        props)
    b.rows.add(i, -1, trace, coords, time, point_extras(props, coords))


def _read_line(b: _Builder, i: int, parts: list[list[object]], times: object,
               props: dict[str, object], group: str | None, label: str | None) -> None:
    vertices = [v for part in parts for v in part]
    flat_times = _flatten_times(times, parts)
    if flat_times is None:
        n = len(times) if isinstance(times, list) else 1
        b.reject(i, Reason.MISSING_VALUE,
                 f"{n} per-vertex times for {len(vertices)} vertices")
        return
    trace = b.trace_for(group, label, props, fallback=f"feature-{i}")
    n = len(vertices)
    extras = {
        "accuracy_m": per_vertex(props, ("accuracy_m", "accuracy", "accuracies"), n),
        "speed_mps": per_vertex(props, ("speed_mps", "speed", "speeds"), n),
        "altitude_m": per_vertex(props, ("ele", "altitude", "altitude_m", "elevation"), n),
    }
    if b.rows.add_line(i, trace, vertices, flat_times, extras):
        return
    for j, (vertex, time) in enumerate(zip(vertices, flat_times, strict=True)):
        ele = optional_number(vertex[2]) if isinstance(vertex, list) and len(vertex) > 2 \
            else float(extras["altitude_m"][j])
        row_extras = (float(extras["accuracy_m"][j]), float(extras["speed_mps"][j]), ele)
        b.rows.add(i, j, trace, vertex, time, row_extras)


def _flatten_times(times: object, parts: list[list[object]]) -> list[object] | None:
    if not isinstance(times, list):
        return None
    n = sum(len(p) for p in parts)
    if len(times) == n and not any(isinstance(t, list) for t in times):
        return times
    if len(times) == len(parts) and all(isinstance(t, list) and len(t) == len(p)
                                        for t, p in zip(times, parts, strict=True)):
        return [t for sub in times for t in sub]
    return None


def _stops(b: _Builder, timezone: str,
           rejections: list[tuple[int, RowRejection]]) -> list[PendingStop]:
    """Parse stop times; a present but unparsable time rejects the stop."""
    time_ms, ok = parse_instants(b.stop_times, timezone=timezone)
    out: list[PendingStop] = []
    for (i, stop, group), time, t, good in zip(b.stops, b.stop_times, time_ms.tolist(),
                                                 ok.tolist(), strict=True):
        if time is not None and not good:
            rejections.append((order_key(i), RowRejection(where=where_text(i),
                                                 reason=Reason.BAD_TIME,
                                                 detail=f"time {time!r}")))
            continue
        stop.time_ms = int(t) if good else None
        if group is not None and group in b.groups:
            stop.trace_index = b.groups[group]
        out.append(stop)
    rejections.sort(key=lambda pair: pair[0])
    return out
