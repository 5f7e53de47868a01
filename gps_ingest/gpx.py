"""Read GPX 1.0 and 1.1 (tracks, routes, waypoints) into a :class:`~transit.traces.TraceSet`.

The file is streamed through expat in 1 MiB chunks and fixes are kept as numpy columns, so
memory grows with the number of fixes (about 40 bytes each), not with the XML: a 2 GB GPX
needs no DOM. Times are collected as text and parsed in batches with
:func:`gps_ingest.timeparse.parse_instants`.

What becomes what
-----------------
* every ``<trk>`` (and ``<rte>``) is a trace; ``trace_key`` is its ``<name>``, else
  ``track-<n>`` / ``route-<n>`` (1-based, in file order); repeated names get ``#2``...;
  ``<type>`` -> ``vehicle_type``; ``<desc>`` -> ``route_name``; ``<cmt>``, ``<src>`` and the
  root's ``creator`` attribute -> ``notes``. GPX carries no device id.
* every ``<trkpt>`` (in any ``<trkseg>``) and ``<rtept>`` is a positionfix: ``lat``/``lon``
  attributes, ``<time>``, ``<ele>`` -> ``altitude_m``; speed (m/s) from GPX 1.0 ``<speed>`` or
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
cleaner flags ``out_of_range``. Every fix comes back with ``reason == 0``.

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
    HDOP_TO_ACCURACY_M,
    PendingStop,
    attach_stops,
    source_key,
    unique_keys,
)
from gps_ingest._gpx_points import (
    ACCURACY,
    ELE,
    HDOP,
    N_VALUES,
    NAME,
    SPEED,
    TIME,
    PointColumns,
    Row,
    convert_points,
)
from transit.errors import FormatError
from transit.traces import Positionfixes, RowRejection, TraceMeta, TraceSet

__all__ = ["read_gpx", "sniff_gpx"]

_CHUNK_BYTES = 1 << 20
#: Characters kept from track metadata (name, desc...); longer text is cut.
_MAX_TEXT_CHARS = 4096
#: OSMTracker writes ``<hdop>`` as its accuracy in metres divided by this factor.
_OSMTRACKER_HDOP_FACTOR_M = 4.0
#: Elements read inside a point (any depth, so extension values count), by local name.
_POINT_SLOTS = {
    "time": TIME, "ele": ELE, "speed": SPEED, "hdop": HDOP, "name": NAME,
    "accuracy": ACCURACY, "hacc": ACCURACY, "hAcc": ACCURACY,
    "horizontal_accuracy": ACCURACY, "horizontalAccuracy": ACCURACY,
}
_TRACK_FIELDS = frozenset({"name", "desc", "cmt", "type", "src"})
_NOT_READ = -1
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


_PROLOG_ITEM = re.compile(r"\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", re.DOTALL)
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
    FormatError
        The stream is empty, not well-formed XML (including truncated), has a DOCTYPE (no
        entity expansion is ever done), has a root other than ``<gpx>``, or holds no usable
        track point and no waypoint.
    """
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.buffer_size = 1 << 16
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    reader = _GpxReader(source, timezone)
    _attach(parser, reader)
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
    return reader.finish()


_TRUNCATION_CODES = frozenset({
    expat.errors.codes[expat.errors.XML_ERROR_NO_ELEMENTS],
    expat.errors.codes[expat.errors.XML_ERROR_UNCLOSED_TOKEN],
    expat.errors.codes[expat.errors.XML_ERROR_PARTIAL_CHAR],
    expat.errors.codes[expat.errors.XML_ERROR_UNCLOSED_CDATA_SECTION],
})


class _Track:
    """Metadata of one ``<trk>``/``<rte>`` while it is read."""

    __slots__ = ("kind", "n_points", "number", "text")

    def __init__(self, kind: str, number: int) -> None:
        self.kind = kind  # "track" or "route"
        self.number = number
        self.n_points = 0
        self.text: dict[str, str] = {}

    def label(self) -> str:
        return self.text.get("name", "").strip() or f"{self.kind}-{self.number}"


class _Slots(dict[str, int]):
    """Slot of each element name seen inside points (``_NOT_READ`` when not wanted)."""

    def __missing__(self, name: str) -> int:
        slot = self[name] = _POINT_SLOTS.get(name.rpartition(":")[2], _NOT_READ)
        return slot


def _attach(parser: expat.XMLParserType, reader: _GpxReader) -> None:
    """Install the expat callbacks.

    The hot path (every element inside a point) runs in two closures over local state;
    everything else is delegated to ``reader``. Character data always goes straight (no
    Python frame) into one list, which the reader clears between elements outside points
    and at the end of each point; a wanted element's text is the part of the list added
    since it started.
    """
    parts = reader.parts
    slots = _Slots()
    in_point = False
    slot = _NOT_READ
    mark = 0
    point_name = ""
    lat: str | None = None
    lon: str | None = None
    values: list[str | None] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal in_point, slot, mark, point_name, lat, lon, values
        if in_point:
            found = slots[name]
            if found != _NOT_READ:
                slot = found
                mark = len(parts)
            return
        if reader.start(name, attrs):
            in_point = True
            point_name = name
            lat = attrs.get("lat")
            lon = attrs.get("lon")
            values = [None] * N_VALUES

    def end(name: str) -> None:
        nonlocal in_point, slot
        if in_point:
            if slot != _NOT_READ:
                values[slot] = "".join(parts[mark:])
                slot = _NOT_READ
            elif name == point_name:
                in_point = False
                reader.end_point(lat, lon, values)
            return
        reader.end(name)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = parts.append
    parser.StartDoctypeDeclHandler = reader.doctype
    parser.EntityDeclHandler = reader.entity


class _GpxReader:
    """The state outside points: root, tracks and their metadata, collected points."""

    def __init__(self, source: str, timezone: str) -> None:
        self.source = source
        self.timezone = timezone
        self.root_seen = False
        self.creator: str | None = None
        self.hdop_factor_m = HDOP_TO_ACCURACY_M
        self.depth = 0
        self.tracks: list[_Track] = []
        self.track: _Track | None = None
        self.track_field: str | None = None
        self.parts: list[str] = []
        self.seq = 0
        self.points = PointColumns(timezone)
        self.waypoints: list[Row] = []

    def doctype(self, name: str, *_: object) -> None:
        raise FormatError(f"the file has a DOCTYPE declaration ({name!r}); entity "
                          "declarations are refused to rule out entity-expansion attacks",
                          where=self.source, fix="remove the <!DOCTYPE ...> line")

    def entity(self, name: str, *_: object) -> None:
        raise FormatError(f"the file declares an XML entity ({name!r})", where=self.source,
                          fix="remove the entity declarations")

    def start(self, name: str, attrs: dict[str, str]) -> bool:
        """An element starts outside any point; True when it begins a point."""
        self.depth += 1
        depth = self.depth
        local = name.rpartition(":")[2]
        self.parts.clear()
        if depth == 1:
            if local != "gpx":
                raise FormatError(f"the root element is <{name}>, not <gpx>",
                                  where=self.source, fix="upload a GPX 1.0 or 1.1 file")
            self.root_seen = True
            self.creator = attrs.get("creator")
            if self.creator and "osmtracker" in self.creator.lower():
                self.hdop_factor_m = _OSMTRACKER_HDOP_FACTOR_M
        elif depth == 2:
            if local in ("trk", "rte"):
                kind = "track" if local == "trk" else "route"
                number = 1 + sum(1 for t in self.tracks if t.kind == kind)
                self.track = _Track(kind, number)
                self.tracks.append(self.track)
            return local == "wpt"
        elif self.track is None:
            return False
        elif (depth == 4 and local == "trkpt") or (depth == 3 and local == "rtept"):
            return True
        elif depth == 3 and local in _TRACK_FIELDS:
            self.track_field = local
        return False

    def end(self, name: str) -> None:
        """An element ends outside any point."""
        self.depth -= 1
        if self.track_field is not None:
            track = self.track
            if track is not None:
                text = "".join(self.parts)[:_MAX_TEXT_CHARS]
                track.text.setdefault(self.track_field, text)
            self.track_field = None
        elif self.depth == 1:
            self.track = None
        self.parts.clear()

    def end_point(self, lat: str | None, lon: str | None, values: list[str | None]) -> None:
        """A point ends: its text goes to the track points or the waypoints."""
        self.parts.clear()
        self.seq += 1
        if self.depth == 2:
            self.waypoints.append((self.seq, -1, len(self.waypoints) + 1, lat, lon, *values))
        elif self.track is not None:
            self.track.n_points += 1
            self.points.add((self.seq, len(self.tracks) - 1, self.track.n_points, lat, lon,
                             *values))
        self.depth -= 1

    # --- result ---------------------------------------------------------------------
    def finish(self) -> TraceSet:
        if not self.root_seen:
            raise FormatError("no <gpx> element", where=self.source, fix=_FIX_HINT)
        keys = unique_keys([t.label() for t in self.tracks])
        fixes = self._fixes()
        rejections = [
            RowRejection(where=self._where(b.trace, b.number, keys), reason=b.reason,
                         detail=b.detail)
            for b in self.points.bad()
        ]
        stops, stop_rejections = self._waypoint_stops()
        rejections.extend(stop_rejections)
        if not len(fixes) and not stops:
            detail = (f"; {len(rejections)} points were unreadable, the first: "
                      f"{rejections[0].where}: {rejections[0].reason.code}" if rejections else "")
            raise FormatError(f"no usable track point and no waypoint{detail}",
                              where=self.source,
                              fix="check that the track points have lat, lon and <time>")
        traces = [self._meta(track, key) for track, key in zip(self.tracks, keys, strict=True)]
        if stops and not traces:
            traces.append(TraceMeta(trace_key=source_key(self.source),
                                    notes=self._notes({}) or None))
        field_stops = attach_stops(stops, traces, fixes)
        return TraceSet(traces=traces, fixes=fixes, field_stops=field_stops,
                        rejections=rejections)

    def _fixes(self) -> Positionfixes:
        points = self.points
        points.flush()
        accuracy_m = points.column("accuracy_m")
        hdop = points.column("hdop")
        from_hdop = np.isnan(accuracy_m) & ~np.isnan(hdop)
        accuracy_m[from_hdop] = hdop[from_hdop] * np.float32(self.hdop_factor_m)
        return Positionfixes.from_columns(
            trace_index=points.column("trace").astype(np.int32),
            time_ms=points.column("time_ms").astype(np.int64),
            lat=points.column("lat").astype(np.float64),
            lon=points.column("lon").astype(np.float64),
            accuracy_m=accuracy_m.astype(np.float32),
            speed_mps=points.column("speed_mps").astype(np.float32),
            altitude_m=points.column("altitude_m").astype(np.float32),
        )

    def _where(self, trace: int, number: int, keys: list[str]) -> str:
        kind = self.tracks[trace].kind
        return f"{'trkpt' if kind == 'track' else 'rtept'} {number} of {kind} '{keys[trace]}'"

    def _waypoint_stops(self) -> tuple[list[PendingStop], list[RowRejection]]:
        """Waypoints as stops. Unlike a track point, a waypoint without a time is kept."""
        got = convert_points(self.waypoints, self.timezone, require_time=False)
        rejections = [RowRejection(where=f"wpt {b.number}", reason=b.reason, detail=b.detail)
                      for b in got.bad]
        names = [row[5 + NAME] for row, keep in zip(self.waypoints, got.keep.tolist(),
                                                    strict=True) if keep]
        stops = [
            PendingStop(lat=lat, lon=lon, time_ms=t if timed else None,
                        name=str(name).strip() or None if name is not None else None)
            for lat, lon, t, timed, name in zip(got.lat.tolist(), got.lon.tolist(),
                                                got.time_ms.tolist(), got.timed.tolist(),
                                                names, strict=True)
        ]
        return stops, rejections

    def _meta(self, track: _Track, key: str) -> TraceMeta:
        text = track.text
        return TraceMeta(
            trace_key=key,
            route_name=text.get("desc", "").strip() or None,
            vehicle_type=text.get("type", "").strip() or None,
            notes=self._notes(text) or None,
        )

    def _notes(self, text: dict[str, str]) -> str:
        parts = [text.get("cmt", "").strip(), text.get("src", "").strip()]
        if self.creator:
            parts.append(f"creator: {self.creator.strip()}")
        return "; ".join(p for p in parts if p)
