"""The expat side of the GPX reader: callbacks and the parse-time state.

Private to :mod:`gps_ingest.gpx`, which turns a finished :class:`GpxState` into a
:class:`~transit.traces.TraceSet`.
"""

from __future__ import annotations

from xml.parsers import expat

from gps_ingest._assemble import HDOP_TO_ACCURACY_M, is_default_name
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
)
from transit.errors import FormatError

__all__ = ["GpxState", "Track", "attach"]

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


class Track:
    """Metadata of one ``<trk>``/``<rte>`` while it is read."""

    __slots__ = ("kind", "n_points", "number", "text")

    def __init__(self, kind: str, number: int) -> None:
        self.kind = kind  # "track" or "route"
        self.number = number
        self.n_points = 0
        self.text: dict[str, str] = {}

    def name(self) -> str | None:
        """The ``<name>`` when it names this trace, None when absent or an app's default."""
        name = self.text.get("name", "").strip()
        return None if not name or is_default_name(name) else name


class _Slots(dict[str, int]):
    """Slot of each element name seen inside points (``_NOT_READ`` when not wanted)."""

    def __missing__(self, name: str) -> int:
        slot = self[name] = _POINT_SLOTS.get(name.rpartition(":")[2], _NOT_READ)
        return slot


def attach(parser: expat.XMLParserType, reader: GpxState) -> None:
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


class GpxState:
    """The state outside points: root, tracks and their metadata, collected points."""

    def __init__(self, source: str, timezone: str) -> None:
        self.source = source
        self.timezone = timezone
        self.root_seen = False
        self.creator: str | None = None
        self.hdop_factor_m = HDOP_TO_ACCURACY_M
        self.depth = 0
        self.tracks: list[Track] = []
        self.counts: dict[str, int] = {}  # tracks and routes begun so far
        self.track: Track | None = None
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
                self.counts[kind] = number = self.counts.get(kind, 0) + 1
                self.track = Track(kind, number)
                self.tracks.append(self.track)
            return local == "wpt"
        elif self.track is None:
            return False
        elif (local == "trkpt" and depth in (3, 4)) or (depth == 3 and local == "rtept"):
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

