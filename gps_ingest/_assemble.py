"""Helpers the GPX and GeoJSON readers share: numbers from text, unique trace keys, and
attaching hand-marked stops to the trace whose time span contains them.

Private to ``gps_ingest``; the public readers are :mod:`gps_ingest.gpx` and
:mod:`gps_ingest.geojson`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath

import numpy as np

from transit.traces import FieldStop, Positionfixes, Reason, RowRejection, TraceMeta

__all__ = [
    "DEFAULT_TRACK_NAMES",
    "HDOP_TO_ACCURACY_M",
    "MAX_DETAILED_REJECTIONS",
    "PendingStop",
    "attach_stops",
    "cap_rejections",
    "coordinate",
    "is_default_name",
    "optional_number",
    "source_key",
    "unique_keys",
]

#: Metres of horizontal accuracy per unit of HDOP, used when a file gives only HDOP.
#: HDOP is unitless; phones report accuracy as a 68 % radius in metres, and a typical
#: user-equivalent range error of about 5 m turns one into the other (accuracy ≈ HDOP × UERE;
#: Kaplan & Hegarty, *Understanding GPS/GNSS*, 3rd ed., 2017, ch. 11). It is a convention,
#: not a measurement: trust it only for ranking fixes, not as a true error in metres.
HDOP_TO_ACCURACY_M = 5.0


#: Rejections kept in detail per file (as the CSV reader does); the rest are only counted,
#: per reason code, in ``TraceSet.rejection_overflow``, so a broken 2 GB file cannot fill
#: memory with rejection objects.
MAX_DETAILED_REJECTIONS = 1000


def cap_rejections(
    rejections: Sequence[RowRejection], overflow: dict[str, int] | None = None
) -> tuple[list[RowRejection], dict[str, int]]:
    """Keep the first :data:`MAX_DETAILED_REJECTIONS` rejections; count the rest by code.

    ``overflow`` (counts already made elsewhere) is added to, and returned sorted by code.
    """
    counts = dict(overflow or {})
    for rejection in rejections[MAX_DETAILED_REJECTIONS:]:
        counts[rejection.reason.code] = counts.get(rejection.reason.code, 0) + 1
    return list(rejections[:MAX_DETAILED_REJECTIONS]), dict(sorted(counts.items()))


def coordinate(text: object) -> tuple[float, Reason]:
    """Parse one latitude or longitude cell.

    Returns
    -------
    value, reason
        The value in degrees and :attr:`Reason.OK`, or NaN and ``MISSING_VALUE`` (absent,
        empty, NaN) or ``BAD_NUMBER`` (not a finite number). Range is not checked here:
        the cleaner owns range checks (``OUT_OF_RANGE``).
    """
    if text is None or isinstance(text, bool):
        return math.nan, Reason.MISSING_VALUE if text is None else Reason.BAD_NUMBER
    if isinstance(text, int | float):
        value = float(text)
    else:
        cell = str(text).strip()
        if not cell:
            return math.nan, Reason.MISSING_VALUE
        try:
            value = float(cell)
        except ValueError:
            return math.nan, Reason.BAD_NUMBER
    if math.isnan(value):
        return math.nan, Reason.MISSING_VALUE
    if math.isinf(value):
        return math.nan, Reason.BAD_NUMBER
    return value, Reason.OK


def optional_number(text: object) -> float:
    """An optional numeric cell (altitude, speed, accuracy): NaN when absent or not finite."""
    if text is None or isinstance(text, bool):
        return math.nan
    try:
        value = float(text) if isinstance(text, int | float) else float(str(text).strip())
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan


#: Track names apps give every track (lower-case prefixes): they identify nothing.
DEFAULT_TRACK_NAMES = ("tracked with osmtracker",)


def is_default_name(name: str) -> bool:
    """True for a name an app gives every track (OSMTracker's "Tracked with OSMTracker...")."""
    return name.strip().lower().startswith(DEFAULT_TRACK_NAMES)


def source_key(source: str) -> str:
    """A trace key made from a source name: the file name without directory and suffix."""
    stem = PurePath(source.replace("\\", "/")).stem if source else ""
    return stem or "trace"


def unique_keys(keys: Sequence[str]) -> list[str]:
    """Make trace keys unique within one upload, keeping the first as written.

    A repeated key gets ``#2``, ``#3``... in order of appearance (OSMTracker, for one, names
    every track "Tracked with OSMTracker for Android™").
    """
    taken: set[str] = set()
    out: list[str] = []
    for key in keys:
        candidate, n = key, 1
        while candidate in taken:
            n += 1
            candidate = f"{key}#{n}"
        taken.add(candidate)
        out.append(candidate)
    return out


@dataclass(slots=True)
class PendingStop:
    """A hand-marked stop read from the file, not yet attached to a trace.

    ``trace_index`` is set when the file itself says which trace the stop belongs to;
    otherwise :func:`attach_stops` chooses by time.
    """

    lat: float
    lon: float
    time_ms: int | None
    name: str | None
    trace_index: int | None = None
    boardings: int | None = None
    alightings: int | None = None


def attach_stops(
    stops: Sequence[PendingStop], traces: Sequence[TraceMeta], fixes: Positionfixes
) -> list[FieldStop]:
    """Give each stop the key of its trace.

    A stop the file assigned keeps its trace. Otherwise it goes to the first trace (in
    file order) whose fixes span its time (first fix <= time <= last fix); a stop without
    a time, or outside every span, goes to the first trace. Output order is input order.

    Parameters
    ----------
    stops
        Stops as read; times are UTC instants in ms.
    traces
        At least one trace when ``stops`` is not empty.
    fixes
        The fixes read, ``trace_index`` indexing ``traces``.
    """
    if not stops:
        return []
    n = len(traces)
    first_ms = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    last_ms = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    if len(fixes):
        np.minimum.at(first_ms, fixes.trace_index, fixes.time_ms)
        np.maximum.at(last_ms, fixes.trace_index, fixes.time_ms)
    out: list[FieldStop] = []
    for stop in stops:
        index = stop.trace_index
        if index is None:
            index = 0
            if stop.time_ms is not None:
                inside = np.flatnonzero((first_ms <= stop.time_ms) & (stop.time_ms <= last_ms))
                if len(inside):
                    index = int(inside[0])
        out.append(FieldStop(trace_key=traces[index].trace_key, lat=stop.lat, lon=stop.lon,
                             time_ms=stop.time_ms, name=stop.name, boardings=stop.boardings,
                             alightings=stop.alightings))
    return out
