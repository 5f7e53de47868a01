"""Read GPX 1.0 and 1.1 (tracks, routes, waypoints) into a :class:`~transit.traces.TraceSet`.

The file is streamed through expat in 1 MiB chunks and fixes are kept as numpy columns, so
memory grows with the number of fixes (about 40 bytes each), not with the XML: a 2 GB GPX
needs no DOM. Times are collected as text and parsed in batches with
:func:`gps_ingest.timeparse.parse_instants`.

What becomes what
-----------------
* every ``<trk>`` (and ``<rte>``) is a trace; ``trace_key`` is its ``<name>``; a track
  without one (or with an app's default name, such as OSMTracker's) takes the file's stem,
  or ``<stem> track-<n>`` / ``<stem> route-<n>`` (1-based, in file order) when several
  do, so that keys of different uploads do not collide; repeated names get ``#2``...;
  ``<type>`` -> ``vehicle_type``; ``<desc>`` -> ``route_name``; ``<cmt>``, ``<src>`` and the
  root's ``creator`` attribute -> ``notes``. GPX carries no device id.
* every ``<trkpt>`` (in any ``<trkseg>``, or right under ``<trk>`` as some loggers write
  it) and ``<rtept>`` is a positionfix: ``lat``/``lon`` attributes, ``<time>``, ``<ele>``
  -> ``altitude_m``; speed (m/s) from GPX 1.0 ``<speed>`` or
  any ``<speed>`` inside ``<extensions>`` (OSMTracker, Garmin TrackPointExtension v2,
  GPSLogger, Logiqx ``tpx``); accuracy from an ``accuracy``/``hacc`` extension, else from
  ``<hdop>`` × :data:`~gps_ingest._assemble.HDOP_TO_ACCURACY_M` (5 m), except in files written
  by OSMTracker, which stores ``hdop = accuracy / 4`` and so is inverted exactly (× 4 m).
* every ``<wpt>`` is a :class:`~transit.traces.FieldStop` (OSMTracker writes its button
  presses as waypoints), attached to the first track whose time span contains it, else to
  the first track.

A point with a missing, NaN or non-numeric ``lat``/``lon`` or a missing or unparsable
``<time>`` is a :class:`~transit.traces.RowRejection` (``where="trkpt 3 of track 'A'"``,
1-based over all segments of the track), not a fix. Coordinates are not range-checked: the
cleaner flags ``out_of_range``. Every fix comes back with ``reason == 0``. A waypoint
without ``<time>`` is kept (``time_ms=None``); one with a bad coordinate or an unparsable
time is rejected as ``wpt <n>``.

Safety: any ``<!DOCTYPE`` (and so any entity declaration) is refused before expat
expands anything, which rules out billion-laughs and external-entity attacks without
defusedxml; no network or file access ever happens.

References
----------
GPX 1.1 schema, https://www.topografix.com/GPX/1/1/ ; GPX 1.0,
https://www.topografix.com/gpx_manual.asp ; OSMTracker for Android ``GPXFileWriter``
(``HDOP_APPROXIMATION_FACTOR = 4``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import BinaryIO
from xml.parsers import expat

import numpy as np

from gps_ingest._assemble import (
    PendingStop,
    attach_stops,
    cap_rejections,
    source_key,
    unique_keys,
)
from gps_ingest._gpx_points import NAME, convert_points
from gps_ingest._gpx_sax import GpxState, Track, attach
from gps_ingest.timeparse import check_timezone
from transit.errors import FormatError
from transit.traces import Positionfixes, RowRejection, TraceMeta, TraceSet

__all__ = ["read_gpx", "sniff_gpx"]

_CHUNK_BYTES = 1 << 20
_FIX_HINT = "upload the .gpx file exactly as the phone app exported it"


def sniff_gpx(head: bytes) -> bool:
    """True when ``head`` (the first few KB of a file) looks like GPX.

    XML (optionally behind a byte-order mark, whitespace, an XML declaration, comments or
    processing instructions) whose first element is ``gpx`` in any namespace prefix.
    """
    text = _decode_head(head)
    pos = 0
    while True:
        match = _PROLOG_ITEM.match(text, pos)
        if match is None:
            break
        pos = match.end()
    return _GPX_ROOT.match(text, pos) is not None


_PROLOG_ITEM = re.compile(r"\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(\[.*?\]\s*)?>", re.DOTALL)
_GPX_ROOT = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?gpx[\s/>]")


def _decode_head(head: bytes) -> str:
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"),
                       (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            return head[len(bom):].decode(codec, errors="ignore")
    return head.decode("utf-8", errors="ignore")


def read_gpx(
    stream: BinaryIO,
    *,
    source: str,
    timezone: str = "UTC",
    on_progress: Callable[[int], None] | None = None,
) -> TraceSet:
    """Read a GPX 1.0 or 1.1 file, streaming.

    Parameters
    ----------
    stream
        The file, opened in binary mode; read to the end in 1 MiB chunks.
    source
        Name of the file or upload, used in messages and to name a trace when needed.
    timezone
        IANA zone of ``<time>`` values written without a zone (GPX requires UTC, but some
        apps write local time).
    on_progress
        Called after each chunk with the number of bytes read so far (for a progress bar).

    Returns
    -------
    TraceSet
        One trace per ``<trk>``/``<rte>``, every fix with ``reason == 0``, waypoints as
        field stops, unreadable points as rejections.

    Raises
    ------
    InputError
        ``timezone`` is not an IANA zone name.
    FormatError
        The stream is empty, not well-formed XML (including truncated), has a DOCTYPE (no
        entity expansion is ever done), has a root other than ``<gpx>``, or holds no usable
        track point and no waypoint.
    """
    check_timezone(timezone)
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.buffer_size = 1 << 16
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    reader = GpxState(source, timezone)
    attach(parser, reader)
    n_bytes = 0
    try:
        while chunk := stream.read(_CHUNK_BYTES):
            n_bytes += len(chunk)
            parser.Parse(chunk, False)
            if on_progress is not None:
                on_progress(n_bytes)
        if n_bytes == 0:
            raise FormatError("the file is empty", where=source, fix=_FIX_HINT)
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        what = ("the file ends before the GPX is complete (truncated upload?)"
                if reader.root_seen and exc.code in _TRUNCATION_CODES
                else f"not well-formed XML ({expat.ErrorString(exc.code)})")
        raise FormatError(what, where=f"{source} line {exc.lineno} column {exc.offset + 1}",
                          fix=_FIX_HINT) from None
    return _result(reader)


_TRUNCATION_CODES = frozenset({
    expat.errors.codes[expat.errors.XML_ERROR_NO_ELEMENTS],
    expat.errors.codes[expat.errors.XML_ERROR_UNCLOSED_TOKEN],
    expat.errors.codes[expat.errors.XML_ERROR_PARTIAL_CHAR],
    expat.errors.codes[expat.errors.XML_ERROR_UNCLOSED_CDATA_SECTION],
})


def _result(r: GpxState) -> TraceSet:
    """The TraceSet of a parsed document: keys, fixes, rejections, stops on their traces."""
    if not r.root_seen:
        raise FormatError("no <gpx> element", where=r.source, fix=_FIX_HINT)
    keys = _keys(r)
    fixes = _fixes(r)
    rejections = [
        RowRejection(where=_where(r, b.trace, b.number, keys), reason=b.reason,
                     detail=b.detail)
        for b in r.points.bad()
    ]
    stops, stop_rejections = _waypoint_stops(r)
    rejections, overflow = cap_rejections(rejections + stop_rejections, r.points.overflow)
    if not len(fixes) and not stops:
        n_bad = len(rejections) + sum(overflow.values())
        detail = (f"; {n_bad} points were unreadable, the first: "
                  f"{rejections[0].where}: {rejections[0].reason.code}" if rejections else "")
        raise FormatError(f"no usable track point and no waypoint{detail}",
                          where=r.source,
                          fix="check that the track points have lat, lon and <time> (a route "
                              "planned on a map has no times: record the ride instead)")
    traces = [_meta(r, track, key) for track, key in zip(r.tracks, keys, strict=True)]
    if stops and not traces:
        traces.append(TraceMeta(trace_key=source_key(r.source),
                                notes=_notes(r, {}) or None))
    field_stops = attach_stops(stops, traces, fixes)
    return TraceSet(traces=traces, fixes=fixes, field_stops=field_stops,
                    rejections=rejections, rejection_overflow=overflow)


def _keys(r: GpxState) -> list[str]:
    """Trace keys: the track name, else one made from the source file name.

    A track without a name, or with an app's default name (OSMTracker calls every track
    "Tracked with OSMTracker for Android™"), would collide with the same track of every
    other upload, so it takes the file's stem (``83.gpx`` -> ``83``), or
    ``<stem> track-<n>`` / ``<stem> route-<n>`` when the file holds several such.
    """
    stem = source_key(r.source)
    unnamed = sum(1 for t in r.tracks if t.name() is None)
    labels = [t.name() or (stem if unnamed == 1 else f"{stem} {t.kind}-{t.number}")
              for t in r.tracks]
    return unique_keys(labels)


def _fixes(r: GpxState) -> Positionfixes:
    points = r.points
    points.flush()
    accuracy_m = points.column("accuracy_m")
    hdop = points.column("hdop")
    from_hdop = np.isnan(accuracy_m) & ~np.isnan(hdop)
    accuracy_m[from_hdop] = hdop[from_hdop] * np.float32(r.hdop_factor_m)
    return Positionfixes.from_columns(
        trace_index=points.column("trace").astype(np.int32, copy=False),
        time_ms=points.column("time_ms").astype(np.int64, copy=False),
        lat=points.column("lat").astype(np.float64, copy=False),
        lon=points.column("lon").astype(np.float64, copy=False),
        accuracy_m=accuracy_m.astype(np.float32, copy=False),
        speed_mps=points.column("speed_mps").astype(np.float32, copy=False),
        altitude_m=points.column("altitude_m").astype(np.float32, copy=False),
    )


def _where(r: GpxState, trace: int, number: int, keys: list[str]) -> str:
    kind = r.tracks[trace].kind
    return f"{'trkpt' if kind == 'track' else 'rtept'} {number} of {kind} '{keys[trace]}'"


def _waypoint_stops(r: GpxState) -> tuple[list[PendingStop], list[RowRejection]]:
    """Waypoints as stops. Unlike a track point, a waypoint without a time is kept."""
    got = convert_points(r.waypoints, r.timezone, require_time=False)
    rejections = [RowRejection(where=f"wpt {b.number}", reason=b.reason, detail=b.detail)
                  for b in got.bad]
    names = [row[5 + NAME] for row, keep in zip(r.waypoints, got.keep.tolist(),
                                                strict=True) if keep]
    stops = [
        PendingStop(lat=lat, lon=lon, time_ms=t if timed else None,
                    name=str(name).strip() or None if name is not None else None)
        for lat, lon, t, timed, name in zip(got.lat.tolist(), got.lon.tolist(),
                                            got.time_ms.tolist(), got.timed.tolist(),
                                            names, strict=True)
    ]
    return stops, rejections


def _meta(r: GpxState, track: Track, key: str) -> TraceMeta:
    text = track.text
    return TraceMeta(
        trace_key=key,
        route_name=text.get("desc", "").strip() or None,
        vehicle_type=text.get("type", "").strip() or None,
        notes=_notes(r, text) or None,
    )


def _notes(r: GpxState, text: dict[str, str]) -> str:
    parts = [text.get("cmt", "").strip(), text.get("src", "").strip()]
    if r.creator:
        parts.append(f"creator: {r.creator.strip()}")
    return "; ".join(p for p in parts if p)
