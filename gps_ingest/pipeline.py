"""From bytes to cleaned traces: detect the format by content, read, clean.

``read_parts`` streams a file (plain, ``.gz`` or ``.zip`` of several files) as TraceSets
of complete traces, each cleaned; ``read_traces`` joins them. The format is recognised
from the content (the extension is only a hint for formats without a signature):

============  ==========================================================
format        recognised by
============  ==========================================================
gpx           XML whose root element is ``gpx`` (any prefix)
geojson       JSON object with ``"type"`` FeatureCollection/Feature/geometry
csv           delimited text whose header names latitude/longitude/trace columns
transitwand   a protobuf ``Upload`` or length-delimited ``Route`` that parses
============  ==========================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO

from gps_ingest import FORMATS
from gps_ingest.clean import CleanOptions, clean_traceset
from gps_ingest.containers import Limits, guard, iter_members, peek
from gps_ingest.csvfile import iter_read_csv, merge_tracesets, sniff_csv
from gps_ingest.geojson import read_geojson, sniff_geojson
from gps_ingest.gpx import read_gpx, sniff_gpx
from gps_ingest.timeparse import check_timezone
from gps_ingest.transitwand import read_transitwand, sniff_transitwand
from transit.errors import FormatError, InputError
from transit.traces import TraceSet

__all__ = ["FORMATS", "ReadOptions", "detect_format", "read_parts", "read_traces"]

_EXTENSIONS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".gpx": "gpx",
               ".geojson": "geojson", ".json": "geojson", ".pb": "transitwand",
               ".pbf": "transitwand", ".bin": "transitwand", ".twd": "transitwand"}


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """How to read and clean one upload."""

    format: str = "auto"
    timezone: str = "UTC"
    device_id: str | None = None
    clean: CleanOptions = field(default_factory=CleanOptions)
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise InputError(f"unknown format {self.format!r}", where="--format",
                             fix=f"use one of {', '.join(FORMATS)}")
        check_timezone(self.timezone)


def detect_format(head: bytes, name: str) -> str:
    """The format of a file from its first bytes (content first, extension as a hint).

    Raises
    ------
    FormatError
        When the content matches no supported format.
    """
    if not head.strip():
        raise FormatError("the file is empty", where=name,
                          fix="upload the file again; it has no content")
    for fmt, sniff in (("gpx", sniff_gpx), ("geojson", sniff_geojson), ("csv", sniff_csv)):
        if sniff(head):
            return fmt
    if sniff_transitwand(head):
        return "transitwand"
    hint = _EXTENSIONS.get(Path(name.lower().removesuffix(".gz")).suffix)
    text_like = not any(b < 9 for b in head[:512])
    first_line = head.split(b"\n", 1)[0]
    if hint == "transitwand" or (text_like and (hint == "csv" or any(
            d in first_line for d in (b",", b";", b"\t", b"|")))):
        return hint or "csv"  # let that reader say precisely what is wrong
    what = ("text that is not CSV with coordinate columns, GPX or GeoJSON" if text_like
            else "binary data that is not a TransitWand capture")
    raise FormatError(f"unrecognised content: {what}", where=name,
                      fix="upload CSV (with lat/lon/time columns), GPX, GeoJSON or a "
                          "TransitWand capture, or pass --format")


def _read_one(stream: BinaryIO, name: str, fmt: str, options: ReadOptions,
              ) -> Iterator[TraceSet]:
    if fmt == "csv":
        yield from iter_read_csv(stream, source=name, timezone=options.timezone)
    elif fmt == "gpx":
        yield read_gpx(stream, source=name, timezone=options.timezone)
    elif fmt == "geojson":
        limited = guard(stream, options.limits.max_geojson_bytes, name,
                        what="GeoJSON over {limit:,} bytes is not read (it is parsed whole)",
                        fix="send large traces as CSV or GPX, which stream, or split the file")
        yield read_geojson(limited, source=name, timezone=options.timezone)
    else:
        yield read_transitwand(stream, source=name, device_id=options.device_id)


def read_parts(stream: BinaryIO, *, source: str, options: ReadOptions = ReadOptions(),
               on_format: Callable[[str], None] | None = None) -> Iterator[TraceSet]:
    """Stream the cleaned parts of an upload.

    Every member of a zip is read on its own (traces keyed ``member:key`` when a zip holds
    several files). ``on_format`` is told each member's detected format.

    Raises
    ------
    FormatError, TooLargeError
        When a member is unusable; nothing has been yielded for that member.
    """
    members = iter_members(stream, source=source, limits=options.limits)
    for member in members:
        head, body = peek(member.stream)
        fmt = options.format if options.format != "auto" else detect_format(head, member.name)
        if on_format is not None:
            on_format(fmt)
        prefix = member.name.split(":", 1)[-1] + ":" if member.one_of_many else ""
        for part in _read_one(body, member.name, fmt, options):
            yield clean_traceset(rekey(part, prefix) if prefix else part, options.clean)


def rekey(ts: TraceSet, prefix: str) -> TraceSet:
    """The same TraceSet with every trace key (and field stop key) prefixed."""
    return TraceSet(
        traces=[replace(m, trace_key=prefix + m.trace_key) for m in ts.traces],
        fixes=ts.fixes,
        field_stops=[replace(s, trace_key=prefix + s.trace_key) for s in ts.field_stops],
        rejections=[replace(r, where=f"{prefix}{r.where}") for r in ts.rejections],
        rejection_overflow=ts.rejection_overflow)


def read_traces(path: str | Path, *, options: ReadOptions = ReadOptions()) -> TraceSet:
    """Read and clean one file into a single TraceSet (for ``transit build --traces``)."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            return merge_tracesets(list(read_parts(fh, source=p.name, options=options)))
    except FileNotFoundError:
        raise InputError("no such file", where=str(p), fix="check the path") from None
    except IsADirectoryError:
        raise InputError("is a folder, not a file", where=str(p),
                         fix="give the trace files inside it") from None
