"""The in-memory trace model shared by every reader, the cleaner, the store and the builder.

Vocabulary (after trackintel): a *positionfix* is one GPS fix; a *trace* is what one phone
recorded on one ride session; a *trip segment* is a part of a trace between long gaps, the
unit the builder works on; a *field stop* is a place the field team marked by hand (GPX
waypoint, TransitWand stop, OSMTracker button).

Positionfixes are columnar (one numpy array per field) so that millions of fixes cost a
few tens of bytes each and every cleaning rule is a vectorised pass. Times are UTC
instants in integer milliseconds since the Unix epoch (``time_ms``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "FieldStop",
    "Positionfixes",
    "Reason",
    "RowRejection",
    "TraceMeta",
    "TraceSet",
    "TripSegment",
]


class Reason(IntEnum):
    """Why a positionfix was dropped or altered. ``OK`` (0) means kept as read.

    Codes below 100 drop the fix; codes from 100 keep it but say it was altered.
    The names (lower case) are the reason codes shown to users and stored per upload.
    """

    OK = 0
    # --- dropped at read time (the row never became a usable fix)
    MISSING_VALUE = 1  # empty/NaN latitude, longitude or time
    BAD_NUMBER = 2  # a coordinate cell that is not a number
    BAD_TIME = 3  # a time cell that is not a recognisable instant
    # --- dropped by cleaning
    NULL_ISLAND = 10  # (0, 0): the phone had no fix
    OUT_OF_RANGE = 11  # |lat| > 90 or |lon| > 180
    TIME_IMPLAUSIBLE = 12  # before 2000 or after "now + 1 day" (e.g. year 2999)
    OUTSIDE_CAMPAIGN = 13  # outside the declared campaign window
    DUPLICATE = 14  # same time and position as the previous fix
    OUT_OF_ORDER = 15  # not later than the fix before it (clock went backwards)
    POOR_ACCURACY = 16  # reported accuracy worse than the threshold
    JUMP = 17  # implied-speed "sandwich" outlier
    PARKED = 18  # vehicle parked at the start or end of a trip segment
    SHORT_SEGMENT = 19  # trip segment too short (in fixes, time or distance) to use
    # --- kept, but altered
    WEEK_ROLLOVER = 100  # date corrected by a multiple of 1024 GPS weeks

    @property
    def code(self) -> str:
        """Lower-case reason code, e.g. ``"poor_accuracy"``."""
        return self.name.lower()

    @property
    def dropped(self) -> bool:
        """True when a fix with this reason is not used downstream."""
        return 0 < self.value < 100


@dataclass(frozen=True, slots=True)
class TraceMeta:
    """What is known about one trace besides its fixes.

    ``trace_key`` is the id the source gave the trace (CSV ``trace_id`` column, GPX track
    name, TransitWand route id...), unique within one upload. Uploads that share a key
    describe the same trace (e.g. a waypoint file annotating a trackpoint file).
    ``direction`` is the direction label the field team gave (e.g. ``"A"``/``"B"``).
    """

    trace_key: str
    device_id: str | None = None
    route_name: str | None = None
    vehicle_type: str | None = None
    notes: str | None = None
    direction: str | None = None


@dataclass(frozen=True, slots=True)
class FieldStop:
    """A place the field team marked by hand.

    ``time_ms`` is the UTC instant (ms) of arrival or of the button press;
    ``departure_ms`` is set when the source records a departure too (TransitWand).
    ``boardings``/``alightings`` are passenger counts where the source has them.
    """

    trace_key: str
    lat: float
    lon: float
    time_ms: int | None = None
    departure_ms: int | None = None
    name: str | None = None
    boardings: int | None = None
    alightings: int | None = None


@dataclass(frozen=True, slots=True)
class RowRejection:
    """A row (or element) of the source that did not become a fix, and why."""

    where: str  # e.g. "line 17", "trkpt 3 of track 'A'"
    reason: Reason
    detail: str = ""


_FLOAT_FIELDS = ("accuracy_m", "speed_mps", "altitude_m")


@dataclass(slots=True)
class Positionfixes:
    """Columnar positionfixes; all arrays have the same length.

    Attributes
    ----------
    trace_index
        Index of the fix's trace in :attr:`TraceSet.traces` (int32).
    time_ms
        UTC instant, milliseconds since the Unix epoch (int64).
    lat, lon
        WGS84 degrees (float64).
    accuracy_m, speed_mps, altitude_m
        Reported horizontal accuracy (m), speed (m/s), altitude (m); NaN where absent.
    reason
        :class:`Reason` code per fix (uint8 for read/drop codes fits; stored as int16).
    segment
        Trip segment number within the trace, -1 for dropped fixes (int32).
    """

    trace_index: NDArray[np.int32]
    time_ms: NDArray[np.int64]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    accuracy_m: NDArray[np.float32]
    speed_mps: NDArray[np.float32]
    altitude_m: NDArray[np.float32]
    reason: NDArray[np.int16] = field(default_factory=lambda: np.zeros(0, np.int16))
    segment: NDArray[np.int32] = field(default_factory=lambda: np.zeros(0, np.int32))

    def __post_init__(self) -> None:
        n = len(self.time_ms)
        if len(self.reason) != n:
            self.reason = np.zeros(n, np.int16)
        if len(self.segment) != n:
            self.segment = np.zeros(n, np.int32)
        for name in ("trace_index", "lat", "lon", *_FLOAT_FIELDS):
            if len(getattr(self, name)) != n:
                raise ValueError(f"Positionfixes.{name} has {len(getattr(self, name))} rows, "
                                 f"time_ms has {n}")

    def __len__(self) -> int:
        return len(self.time_ms)

    @classmethod
    def empty(cls) -> Positionfixes:
        """No fixes."""
        return cls.from_columns(trace_index=[], time_ms=[], lat=[], lon=[])

    @classmethod
    def from_columns(
        cls,
        *,
        trace_index: Sequence[int] | NDArray[np.integer],
        time_ms: Sequence[int] | NDArray[np.integer],
        lat: Sequence[float] | NDArray[np.floating],
        lon: Sequence[float] | NDArray[np.floating],
        accuracy_m: Sequence[float] | NDArray[np.floating] | None = None,
        speed_mps: Sequence[float] | NDArray[np.floating] | None = None,
        altitude_m: Sequence[float] | NDArray[np.floating] | None = None,
    ) -> Positionfixes:
        """Build from any sequences, converting dtypes; absent optional fields become NaN."""
        n = len(time_ms)

        def opt(values: Sequence[float] | NDArray[np.floating] | None) -> NDArray[np.float32]:
            if values is None:
                return np.full(n, np.nan, np.float32)
            return np.asarray(values, dtype=np.float32)

        return cls(
            trace_index=np.asarray(trace_index, dtype=np.int32),
            time_ms=np.asarray(time_ms, dtype=np.int64),
            lat=np.asarray(lat, dtype=np.float64),
            lon=np.asarray(lon, dtype=np.float64),
            accuracy_m=opt(accuracy_m),
            speed_mps=opt(speed_mps),
            altitude_m=opt(altitude_m),
        )

    def take(self, index: NDArray[np.integer] | NDArray[np.bool_]) -> Positionfixes:
        """A new Positionfixes with the rows selected by an index or boolean mask."""
        return Positionfixes(
            trace_index=self.trace_index[index],
            time_ms=self.time_ms[index],
            lat=self.lat[index],
            lon=self.lon[index],
            accuracy_m=self.accuracy_m[index],
            speed_mps=self.speed_mps[index],
            altitude_m=self.altitude_m[index],
            reason=self.reason[index],
            segment=self.segment[index],
        )

    @staticmethod
    def concat(parts: Sequence[Positionfixes]) -> Positionfixes:
        """Concatenate several Positionfixes (trace indices are taken as they are)."""
        if not parts:
            return Positionfixes.empty()
        return Positionfixes(
            trace_index=np.concatenate([p.trace_index for p in parts]),
            time_ms=np.concatenate([p.time_ms for p in parts]),
            lat=np.concatenate([p.lat for p in parts]),
            lon=np.concatenate([p.lon for p in parts]),
            accuracy_m=np.concatenate([p.accuracy_m for p in parts]),
            speed_mps=np.concatenate([p.speed_mps for p in parts]),
            altitude_m=np.concatenate([p.altitude_m for p in parts]),
            reason=np.concatenate([p.reason for p in parts]),
            segment=np.concatenate([p.segment for p in parts]),
        )


@dataclass(frozen=True, slots=True)
class TripSegment:
    """The kept fixes of one trip segment, in time order: what the builder consumes."""

    trace: TraceMeta
    segment: int
    time_ms: NDArray[np.int64]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    speed_mps: NDArray[np.float32]
    field_stops: tuple[FieldStop, ...] = ()

    def __len__(self) -> int:
        return len(self.time_ms)


@dataclass(slots=True)
class TraceSet:
    """Everything one source (file or upload) yielded.

    ``fixes.trace_index`` indexes ``traces``. ``rejections`` holds rows that could not be
    read at all (they are not in ``fixes``); fixes that cleaning drops stay in ``fixes``
    with a non-zero ``reason``.
    """

    traces: list[TraceMeta]
    fixes: Positionfixes
    field_stops: list[FieldStop] = field(default_factory=list)
    rejections: list[RowRejection] = field(default_factory=list)
    #: reason code -> rows rejected beyond the detailed ``rejections`` kept (a cap per file)
    rejection_overflow: dict[str, int] = field(default_factory=dict)

    def reason_counts(self) -> dict[str, int]:
        """Count of fixes and rows per non-OK reason code, read-time rejections included."""
        counts: dict[str, int] = {}
        codes, n = np.unique(self.fixes.reason, return_counts=True)
        for code, count in zip(codes.tolist(), n.tolist(), strict=True):
            if code != Reason.OK:
                counts[Reason(code).code] = counts.get(Reason(code).code, 0) + count
        for rej in self.rejections:
            counts[rej.reason.code] = counts.get(rej.reason.code, 0) + 1
        for code, count in self.rejection_overflow.items():
            counts[code] = counts.get(code, 0) + count
        return dict(sorted(counts.items()))

    def n_accepted(self) -> int:
        """Fixes kept for use (not dropped by reading or cleaning)."""
        return int(np.count_nonzero((self.fixes.reason == 0) | (self.fixes.reason >= 100)))

    def n_rejected(self) -> int:
        """Rows rejected at read time plus fixes dropped by cleaning."""
        overflow = sum(self.rejection_overflow.values())
        return len(self.rejections) + overflow + len(self.fixes) - self.n_accepted()

    def iter_segments(self, *, min_fixes: int = 2) -> Iterator[TripSegment]:
        """Yield the kept fixes of every trip segment, in trace then time order."""
        fx = self.fixes
        kept = ((fx.reason == 0) | (fx.reason >= 100)) & (fx.segment >= 0)
        idx = np.flatnonzero(kept)
        if len(idx) == 0:
            return
        order = idx[np.lexsort((fx.time_ms[idx], fx.segment[idx], fx.trace_index[idx]))]
        key = fx.trace_index[order].astype(np.int64) * 1_000_000 + fx.segment[order]
        bounds = np.flatnonzero(np.diff(key)) + 1
        stops_by_trace: dict[str, list[FieldStop]] = {}
        for fs in self.field_stops:
            stops_by_trace.setdefault(fs.trace_key, []).append(fs)
        for part in np.split(order, bounds):
            if len(part) < min_fixes:
                continue
            meta = self.traces[int(fx.trace_index[part[0]])]
            t = fx.time_ms[part]
            t0, t1 = int(t[0]), int(t[-1])
            marked = tuple(
                s for s in stops_by_trace.get(meta.trace_key, [])
                if s.time_ms is None or t0 <= s.time_ms <= t1
            )
            yield TripSegment(
                trace=meta,
                segment=int(fx.segment[part[0]]),
                time_ms=t,
                lat=fx.lat[part],
                lon=fx.lon[part],
                speed_mps=fx.speed_mps[part],
                field_stops=marked,
            )
