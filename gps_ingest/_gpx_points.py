"""GPX points as they stream in: raw text rows -> numpy columns, in batches.

Private to :mod:`gps_ingest.gpx`. The expat callbacks only collect the text of each point
(one tuple per point); every :data:`BATCH_FIXES` points the batch is converted in a few
vectorised calls (numbers with ``pandas.to_numeric``, times with
:func:`gps_ingest.timeparse.parse_instants`) and moved into numpy chunks, so memory stays
near 40 bytes per fix whatever the file size and no Python float object is made per cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
from numpy.typing import NDArray

from gps_ingest._assemble import MAX_DETAILED_REJECTIONS
from gps_ingest.timeparse import parse_instants
from transit.traces import Reason

__all__ = [
    "ACCURACY",
    "BATCH_FIXES",
    "ELE",
    "HDOP",
    "NAME",
    "N_VALUES",
    "SPEED",
    "TIME",
    "BadPoint",
    "PointColumns",
    "convert_points",
]

#: Points per batch of vectorised conversion.
BATCH_FIXES = 65_536

# Slots of the per-point text values, in the order of the row tuples after
# (seq, trace, number, lat, lon).
TIME, ELE, SPEED, ACCURACY, HDOP, NAME = range(6)
N_VALUES = 6

#: One point as read: (seq, trace, number, lat, lon, *values) with values indexed by the
#: slot constants above; every cell is the text as written, or None when absent.
Row = tuple[object, ...]


@dataclass(slots=True)
class BadPoint:
    """A point that did not become a fix: ``seq`` orders it in the file."""

    seq: int
    trace: int
    number: int
    reason: Reason
    detail: str


@dataclass(slots=True)
class Converted:
    """The good points of a batch as columns, and the bad ones."""

    keep: NDArray[np.bool_]
    timed: NDArray[np.bool_]  # per kept point: False when it had no time (waypoints only)
    trace: NDArray[np.int32]
    time_ms: NDArray[np.int64]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    altitude_m: NDArray[np.float32]
    speed_mps: NDArray[np.float32]
    accuracy_m: NDArray[np.float32]
    hdop: NDArray[np.float32]
    bad: list[BadPoint]


def _numbers(cells: tuple[object, ...]) -> NDArray[np.float64]:
    """Text cells as floats, NaN where absent or not a number.

    One Arrow cast when every cell is clean (the usual case), else ``pandas.to_numeric``.
    """
    if cells.count(None) == len(cells):
        return np.full(len(cells), np.nan)
    try:
        arr = pa.array(cells, type=pa.string()).cast(pa.float64())
        return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        series = pd.Series(cells, dtype=object)
        return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64,
                                                               na_value=np.nan)


def _blank(cell: object) -> bool:
    return cell is None or not str(cell).strip() or str(cell).strip().lower() == "nan"


def convert_points(rows: list[Row], timezone: str, *, require_time: bool = True) -> Converted:
    """Convert text rows; a bad coordinate or a missing/bad time rejects the point.

    Coordinates that are absent, empty or NaN give ``MISSING_VALUE``; any other
    non-finite or non-numeric text gives ``BAD_NUMBER``; no ``<time>`` (or a blank one)
    gives ``MISSING_VALUE`` unless ``require_time`` is false (waypoints), and an
    unparsable time gives ``BAD_TIME``. Optional numbers that are not finite become NaN
    without rejecting the point.
    """
    cols = list(zip(*rows, strict=True)) if rows else [()] * (5 + N_VALUES)
    seq, trace, number, lat_text, lon_text = cols[:5]
    values = cols[5:]
    lat = _numbers(lat_text)
    lon = _numbers(lon_text)
    coord_ok = np.isfinite(lat) & np.isfinite(lon)
    time_text = values[TIME]
    time_ms, time_ok = parse_instants(pd.Series(time_text, dtype="string"), timezone=timezone)
    timed = time_ok.copy()
    if not require_time:
        time_ok = time_ok | np.fromiter((_blank(t) for t in time_text), np.bool_,
                                        len(time_text))
    bad: list[BadPoint] = []
    for i in np.flatnonzero(~(coord_ok & time_ok)).tolist():
        if not coord_ok[i]:
            cells = (lat_text[i], lon_text[i])
            finite = (np.isfinite(lat[i]), np.isfinite(lon[i]))
            missing = any(_blank(c) for c, f in zip(cells, finite, strict=True) if not f)
            reason = Reason.MISSING_VALUE if missing else Reason.BAD_NUMBER
            detail = f"lat {lat_text[i]!r}, lon {lon_text[i]!r}"
        elif _blank(time_text[i]):
            reason, detail = Reason.MISSING_VALUE, "no <time>"
        else:
            reason, detail = Reason.BAD_TIME, f"time {time_text[i]!r}"
        bad.append(BadPoint(int(seq[i]), int(trace[i]),
                            int(number[i]), reason, detail))
    keep = coord_ok & time_ok

    def optional(slot: int) -> NDArray[np.float32]:
        out = _numbers(values[slot])[keep]
        out[~np.isfinite(out)] = np.nan
        return out.astype(np.float32)

    return Converted(
        keep=keep,
        timed=timed[keep],
        trace=np.asarray(trace, dtype=np.int32)[keep],
        time_ms=time_ms[keep],
        lat=lat[keep],
        lon=lon[keep],
        altitude_m=optional(ELE),
        speed_mps=optional(SPEED),
        accuracy_m=optional(ACCURACY),
        hdop=optional(HDOP),
        bad=bad,
    )


@dataclass(slots=True)
class PointColumns:
    """Accumulates the track points of a GPX stream in converted batches."""

    timezone: str
    rows: list[Row] = field(default_factory=list)
    chunks: list[Converted] = field(default_factory=list)
    n_bad_kept: int = 0
    overflow: dict[str, int] = field(default_factory=dict)  # reason code -> bad points

    def add(self, row: Row) -> None:
        """Add one raw row; converts the batch when it is full."""
        self.rows.append(row)
        if len(self.rows) >= BATCH_FIXES:
            self.flush()

    def flush(self) -> None:
        """Convert the buffered rows."""
        if self.rows:
            converted = convert_points(self.rows, self.timezone)
            room = max(0, MAX_DETAILED_REJECTIONS - self.n_bad_kept)
            for b in converted.bad[room:]:
                self.overflow[b.reason.code] = self.overflow.get(b.reason.code, 0) + 1
            converted.bad = converted.bad[:room]
            self.n_bad_kept += len(converted.bad)
            self.chunks.append(converted)
            self.rows = []

    def column(self, name: str) -> NDArray[np.generic]:
        """One column over all batches (call :meth:`flush` first)."""
        parts = [getattr(c, name) for c in self.chunks]
        return np.concatenate(parts) if parts else np.zeros(0)

    def bad(self) -> list[BadPoint]:
        """The rejected points kept in detail (the first ones, in file order); the others
        are counted in :attr:`overflow`."""
        return sorted((b for c in self.chunks for b in c.bad), key=lambda b: b.seq)
