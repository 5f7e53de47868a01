"""Read TransitWand captures: Conveyal's Android field-capture app (used by Digital Matatus).

The messages are the published ones (conveyal/transit-wand ``TransitWand/proto/route.proto``,
reproduced field for field in ``gps_ingest/proto/transitwand.proto``; regenerate the Python
module with ``.venv/bin/python -m gps_ingest.proto.generate``). Three layouts are accepted:

* a serialized ``Upload`` (what the app POSTs to the server),
* one length-delimited ``Route`` (varint length prefix; the phone's ``route_<id>.pb`` file),
* several length-delimited Routes one after another (those files concatenated).

How fields are interpreted (from the app's ``RouteCapture``/``CaptureService`` and the
server's ``Application.upload``):

* ``start_time``: UTC instant in milliseconds since the Unix epoch (``new Date().getTime()``
  at the start button). The very first app version wrote milliseconds since phone boot
  instead; such routes (start before 2000-01-01) keep their relative times and say so in
  ``TraceMeta.notes``, and cleaning then flags their fixes ``time_implausible``.
* ``Point.timeoffset``: whole **seconds since the previous point** (the first point: since
  ``start_time``), truncated towards zero by the app. Fix times are therefore
  ``start_time + 1000 * cumsum(timeoffset)`` ms, exactly as the app reads its own files.
  The truncation makes reconstructed times drift early by up to 1 s per point.
* ``Stop.arrivalTimeoffset`` / ``departureTimeoffset``: whole seconds since the previous
  stop's *arrival* (the first stop: since ``start_time``). ``board``/``alight`` are counts.
* ``lat``/``lon``: WGS84 degrees as 32-bit floats; read as the shortest decimal that
  round-trips the float32 (``36.82``, not ``36.81999969``).
* ``unit_id``/``upload_id``: the app sends 0; the phone is identified by the HTTP form field
  ``imei`` instead (see :func:`parse_transitwand_upload_form`).

References
----------
Conveyal, TransitWand (2013), https://github.com/conveyal/transit-wand.
Google, "Protocol Buffers: Encoding", https://protobuf.dev/programming-guides/encoding/.
"""

from __future__ import annotations

import math
from typing import BinaryIO

import numpy as np
from google.protobuf.message import DecodeError
from numpy.typing import NDArray

from gps_ingest.proto import transitwand_pb2 as pb
from gps_ingest.transitwand_points import float32_degrees, route_byte_ranges, route_points
from gps_ingest.transitwand_wire import MIN_FIELDS, WireLayout, scan_transitwand
from transit.errors import FormatError, InputError
from transit.traces import FieldStop, Positionfixes, Reason, RowRejection, TraceMeta, TraceSet

__all__ = [
    "TRANSITWAND_SUFFIXES",
    "decode_transitwand",
    "parse_transitwand_upload_form",
    "read_transitwand",
    "sniff_transitwand",
]

#: File name endings that hint at a TransitWand capture (a hint only: content decides).
TRANSITWAND_SUFFIXES = (".pb", ".pbf", ".bin", ".twd")
#: Bytes of a head that sniffing walks (enough for dozens of fields; walking is Python).
SNIFF_BYTES = 512
#: 2000-01-01T00:00:00Z in ms: an earlier ``start_time`` is phone uptime, not a date.
UPTIME_LIMIT_MS = 946_684_800_000
_FIX = ("export the capture again from the TransitWand app (its route_<id>.pb files) or the "
        "server upload; for CSV, GPX or GeoJSON files use the matching reader")


def sniff_transitwand(head: bytes) -> bool:
    """Whether the first bytes of a file look like a TransitWand capture.

    Protobuf has no magic number: the head is walked as an ``Upload`` and as length-delimited
    ``Route``s (see :mod:`gps_ingest.transitwand_wire`) and accepted when one layout fits
    every one of the first ``SNIFF_BYTES`` bytes (which may stop inside a field) and shows
    at least three fields, the first of them a route's ``start_time`` or the upload's
    ``unit_id``. CSV, GPX, GeoJSON and random bytes fail on the first few bytes. A
    capture's file name ending (:data:`TRANSITWAND_SUFFIXES`) is only a hint.

    Parameters
    ----------
    head
        The first bytes of the file (1 KiB is enough; more is ignored).

    Returns
    -------
    bool
        True when the bytes fit a TransitWand layout.
    """
    if len(head) < 4:
        return False
    head = head[:SNIFF_BYTES]
    for layout in (WireLayout.UPLOAD, WireLayout.DELIMITED):
        scan = scan_transitwand(head, layout)
        if scan.valid and scan.n_fields >= MIN_FIELDS:
            return True
    return False


def read_transitwand(stream: BinaryIO, *, source: str, device_id: str | None = None) -> TraceSet:
    """Read a TransitWand capture file into traces, fixes and hand-marked stops.

    Parameters
    ----------
    stream
        Binary stream positioned at the start of the capture; read to the end.
    source
        Name of the file or upload, used in error messages.
    device_id
        Phone identifier to store on every trace; default: the Upload's ``unit_id`` when
        it is not 0, else none.

    Returns
    -------
    TraceSet
        One trace per Route, see :func:`decode_transitwand`.

    Raises
    ------
    FormatError
        Empty, truncated or non-TransitWand input, or a capture without routes or points.
    """
    return decode_transitwand(stream.read(), source=source, device_id=device_id)


def parse_transitwand_upload_form(imei: str, data: bytes) -> TraceSet:
    """Read the body of the app's HTTP upload (``POST /upload``, multipart form).

    The app sends two form fields: ``imei`` (the phone's IMEI, or its Android ID when it
    has none) and ``data``, a file part holding the raw serialized ``Upload`` message (not
    base64). The published server parses ``data`` with ``Upload.parseFrom``.

    Parameters
    ----------
    imei
        Value of the ``imei`` form field; becomes every trace's ``device_id``.
    data
        Bytes of the ``data`` file part.

    Returns
    -------
    TraceSet
        As :func:`decode_transitwand`, with ``device_id`` = ``imei``.

    Raises
    ------
    InputError
        ``imei`` is empty.
    FormatError
        ``data`` is not a usable capture.
    """
    device = imei.strip()
    if not device:
        raise InputError("the 'imei' form field is empty", where="TransitWand upload",
                         fix="send the phone's IMEI (or Android ID) in the 'imei' field")
    return decode_transitwand(data, source=f"TransitWand upload from {device}",
                              device_id=device)


def decode_transitwand(data: bytes, *, source: str, device_id: str | None = None) -> TraceSet:
    """Decode the bytes of a TransitWand capture (any of the three layouts).

    Every Route becomes a trace with ``trace_key`` ``"route <r>: <route_name>"`` (``r``
    counts from 1 in file order; ``"route <r>"`` when unnamed), ``route_name`` and
    ``vehicle_type`` from the route, and ``notes`` joining the route notes, description
    and vehicle capacity. Points become positionfixes (times as in the module docstring);
    a point with a NaN (or absent) coordinate becomes a :class:`RowRejection` with ``where`` =
    ``"point <i> of route <r>"`` (both from 1); other out-of-range coordinates stay fixes
    for cleaning to flag. Stops become :class:`FieldStop` s with arrival and departure
    instants and boardings/alightings (``None`` where the field is absent).

    Raises
    ------
    FormatError
        Empty, truncated or non-TransitWand bytes, or a capture without routes or points.
    """
    routes, unit_id, delimited = _parse(data, source)
    if not routes:
        raise FormatError("the TransitWand upload holds no routes", where=source,
                          fix="upload again after recording at least one route in the app")
    if device_id is None and unit_id:
        device_id = str(unit_id)
    traces: list[TraceMeta] = []
    parts: list[Positionfixes] = []
    stops: list[FieldStop] = []
    rejections: list[RowRejection] = []
    buf = np.frombuffer(data, np.uint8)
    ranges = route_byte_ranges(data, delimited=delimited)
    for index, (route, (start, end)) in enumerate(zip(routes, ranges, strict=True)):
        meta = _meta(route, index + 1, device_id)
        traces.append(meta)
        points = route_points(buf, start, end)
        if points is None:  # cannot happen for bytes protobuf accepted; stay correct anyway
            points = _points_from_messages(route)
        parts.append(_fixes(route.start_time, *points, index=index, rejections=rejections))
        stops.extend(_stops(route, index + 1, meta.trace_key, rejections))
    fixes = Positionfixes.concat(parts)
    if len(fixes) == 0:
        raise FormatError(f"the TransitWand capture has {len(routes)} route(s) but no usable "
                          "GPS points", where=source,
                          fix="record with GPS on until the app shows a fix, then export again")
    return TraceSet(traces=traces, fixes=fixes, field_stops=stops, rejections=rejections)


def _parse(data: bytes, source: str) -> tuple[list[pb.Upload.Route], int, bool]:
    """The routes, the Upload's unit_id (0 for delimited routes) and whether the routes
    are length-delimited; or a FormatError."""
    if not data:
        raise FormatError("the file is empty", where=source, fix=_FIX)
    # An Upload starts with key 0x08 (unit_id); a delimited Route with its length.
    order = (_as_upload, _as_delimited) if data[0] == 0x08 else (_as_delimited, _as_upload)
    for attempt in order:
        parsed = attempt(data)
        if parsed is not None:
            return parsed
    raise FormatError(_diagnose(data), where=source, fix=_FIX)


def _as_upload(data: bytes) -> tuple[list[pb.Upload.Route], int, bool] | None:
    upload = pb.Upload()
    try:
        upload.ParseFromString(data)
    except DecodeError:
        return None
    # Required fields, checked cheaply (IsInitialized would visit every point; the point
    # walker treats a point without lat/lon as a NaN point instead).
    if not (upload.HasField("unit_id") and upload.HasField("upload_id")):
        return None
    if not all(route.HasField("start_time") for route in upload.route):
        return None
    return list(upload.route), int(upload.unit_id), False


def _as_delimited(data: bytes) -> tuple[list[pb.Upload.Route], int, bool] | None:
    routes: list[pb.Upload.Route] = []
    pos, n = 0, len(data)
    while pos < n:
        size, pos = _varint(data, pos)
        if size < 0 or pos + size > n:
            return None
        route = pb.Upload.Route()
        try:
            route.ParseFromString(data[pos:pos + size])
        except DecodeError:
            return None
        if not route.HasField("start_time"):
            return None
        routes.append(route)
        pos += size
    return routes, 0, True


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """Decode a varint at ``pos``; ``(-1, pos)`` when it is cut off or over 10 bytes."""
    value = shift = 0
    for i in range(pos, min(pos + 10, len(data))):
        value |= (data[i] & 0x7F) << shift
        if data[i] < 0x80:
            return value, i + 1
        shift += 7
    return -1, pos


def _diagnose(data: bytes) -> str:
    """Say why bytes that did not parse are not a usable capture."""
    text_start = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if text_start == b"<":
        return "this looks like an XML/GPX file, not a TransitWand capture"
    if text_start in (b"{", b"["):
        return "this looks like a JSON/GeoJSON file, not a TransitWand capture"
    try:
        sample = data[:4096].decode("utf-8")
    except UnicodeDecodeError:
        sample = ""
    if sample and all(ch.isprintable() or ch in "\t\r\n" for ch in sample):
        return "this looks like a text (CSV?) file, not a TransitWand capture"
    for layout in (WireLayout.UPLOAD, WireLayout.DELIMITED):
        scan = scan_transitwand(data, layout)
        if scan.valid and scan.truncated and scan.n_fields >= MIN_FIELDS:
            return (f"the TransitWand capture is truncated: it ends inside a message after "
                    f"{len(data)} bytes ({scan.n_routes} route(s), {scan.n_points} point(s) "
                    "readable so far)")
        if scan.valid and scan.n_fields >= MIN_FIELDS:
            return "the TransitWand capture is damaged: its messages do not parse"
    return ("not a TransitWand capture: the bytes are neither a protobuf Upload nor "
            "length-delimited Route messages")


def _meta(route: pb.Upload.Route, r: int, device_id: str | None) -> TraceMeta:
    name = route.route_name.strip()
    notes = [route.route_notes.strip()]
    if route.route_description.strip():
        notes.append(f"description: {route.route_description.strip()}")
    if route.vehicle_capacity.strip():
        notes.append(f"vehicle capacity: {route.vehicle_capacity.strip()}")
    if route.start_time < UPTIME_LIMIT_MS:
        notes.append("start_time is phone uptime (first app version): dates unknown")
    joined = "; ".join(n for n in notes if n)
    return TraceMeta(
        trace_key=f"route {r}: {name}" if name else f"route {r}",
        device_id=device_id,
        route_name=name or None,
        vehicle_type=route.vehicle_type.strip() or None,
        notes=joined or None,
    )


def _points_from_messages(route: pb.Upload.Route) -> tuple[
        NDArray[np.float32], NDArray[np.float32], NDArray[np.int64]]:
    """The slow way to :func:`route_points`' result, through the message objects."""
    n = len(route.point)
    return (np.fromiter((p.lat for p in route.point), np.float32, n),
            np.fromiter((p.lon for p in route.point), np.float32, n),
            np.fromiter((p.timeoffset for p in route.point), np.int64, n))


def _fixes(start_ms: int, lat32: NDArray[np.float32], lon32: NDArray[np.float32],
           offset_s: NDArray[np.int64], *, index: int,
           rejections: list[RowRejection]) -> Positionfixes:
    time_ms = int(start_ms) + 1000 * np.cumsum(offset_s)
    missing = np.isnan(lat32) | np.isnan(lon32)
    for i in np.flatnonzero(missing).tolist():
        rejections.append(RowRejection(
            where=f"point {i + 1} of route {index + 1}", reason=Reason.MISSING_VALUE,
            detail="latitude or longitude is NaN or absent"))
    keep = ~missing
    return Positionfixes.from_columns(
        trace_index=np.full(int(keep.sum()), index, np.int32),
        time_ms=time_ms[keep],
        lat=float32_degrees(lat32[keep]),
        lon=float32_degrees(lon32[keep]),
    )


def _stops(route: pb.Upload.Route, r: int, trace_key: str,
           rejections: list[RowRejection]) -> list[FieldStop]:
    n = len(route.stop)
    nan = float("nan")
    lat = float32_degrees(np.fromiter((s.lat if s.HasField("lat") else nan for s in route.stop),
                                      np.float32, n)).tolist()
    lon = float32_degrees(np.fromiter((s.lon if s.HasField("lon") else nan for s in route.stop),
                                      np.float32, n)).tolist()
    out: list[FieldStop] = []
    base_ms = int(route.start_time)
    for i, stop in enumerate(route.stop):
        arrival_ms = base_ms + 1000 * stop.arrivalTimeoffset if stop.HasField(
            "arrivalTimeoffset") else None
        departure_ms = base_ms + 1000 * stop.departureTimeoffset if stop.HasField(
            "departureTimeoffset") else None
        if arrival_ms is not None:
            base_ms = arrival_ms
        if math.isnan(lat[i]) or math.isnan(lon[i]):
            rejections.append(RowRejection(
                where=f"stop {i + 1} of route {r}", reason=Reason.MISSING_VALUE,
                detail="latitude or longitude is NaN or absent"))
            continue
        out.append(FieldStop(
            trace_key=trace_key,
            lat=lat[i],
            lon=lon[i],
            time_ms=arrival_ms,
            departure_ms=departure_ms,
            boardings=stop.board if stop.HasField("board") else None,
            alightings=stop.alight if stop.HasField("alight") else None,
        ))
    return out
