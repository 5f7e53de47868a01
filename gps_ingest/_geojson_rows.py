"""Fix rows of a GeoJSON document: coordinates checked as added, times parsed at the end.

Private to :mod:`gps_ingest.geojson`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from gps_ingest._assemble import coordinate
from gps_ingest.timeparse import parse_instants
from transit.traces import Positionfixes, Reason, RowRejection

__all__ = ["FixRows", "lon_lat", "lookup", "lower_keys"]


def lower_keys(props: Mapping[str, object]) -> dict[str, object]:
    """Properties with lower-case keys (the first spelling wins on a clash)."""
    out: dict[str, object] = {}
    for key, value in props.items():
        out.setdefault(str(key).lower(), value)
    return out


def lookup(props: Mapping[str, object], keys: Sequence[str]) -> object:
    """The first of ``keys`` present with a non-null, non-empty value, else None."""
    for key in keys:
        value = props.get(key)
        if value is not None and value != "":
            return value
    return None


def lon_lat(coords: object) -> tuple[float, float, Reason]:
    """Longitude and latitude of a GeoJSON position ``[lon, lat(, ele)]``."""
    if not isinstance(coords, list | tuple) or len(coords) < 2:
        return np.nan, np.nan, Reason.MISSING_VALUE
    lon, lon_reason = coordinate(coords[0])
    lat, lat_reason = coordinate(coords[1])
    return lon, lat, lon_reason or lat_reason


@dataclass(slots=True)
class FixRows:
    """Fixes gathered feature by feature; :meth:`finish` parses all times in one call."""

    timezone: str
    seq: list[int] = field(default_factory=list)
    where: list[str] = field(default_factory=list)
    trace: list[int] = field(default_factory=list)
    lat: list[float] = field(default_factory=list)
    lon: list[float] = field(default_factory=list)
    time: list[object] = field(default_factory=list)
    accuracy_m: list[float] = field(default_factory=list)
    speed_mps: list[float] = field(default_factory=list)
    altitude_m: list[float] = field(default_factory=list)
    bad: list[tuple[int, RowRejection]] = field(default_factory=list)

    def add(self, seq: int, where: str, trace: int, coords: object, time: object,
            extras: tuple[float, float, float]) -> None:
        """Add one position; a bad coordinate is rejected at once.

        ``extras`` is (accuracy_m, speed_mps, altitude_m), NaN where absent.
        """
        lon, lat, reason = lon_lat(coords)
        if reason != Reason.OK:
            self.bad.append((seq, RowRejection(where=where, reason=reason,
                                               detail=f"coordinates {coords!r}")))
            return
        self.seq.append(seq)
        self.where.append(where)
        self.trace.append(trace)
        self.lat.append(lat)
        self.lon.append(lon)
        self.time.append(None if isinstance(time, bool | dict | list) else time)
        self.accuracy_m.append(extras[0])
        self.speed_mps.append(extras[1])
        self.altitude_m.append(extras[2])

    def finish(self) -> tuple[Positionfixes, list[tuple[int, RowRejection]]]:
        """The fixes in the order added, and (order key, rejection) pairs."""
        time_ms, ok = parse_instants(self.time, timezone=self.timezone)
        bad = list(self.bad)
        for i in np.flatnonzero(~ok).tolist():
            cell = self.time[i]
            missing = cell is None or (isinstance(cell, str) and not cell.strip())
            reason = Reason.MISSING_VALUE if missing else Reason.BAD_TIME
            detail = "no time" if missing else f"time {cell!r}"
            bad.append((self.seq[i], RowRejection(where=self.where[i], reason=reason,
                                                  detail=detail)))
        fixes = Positionfixes.from_columns(
            trace_index=np.asarray(self.trace, np.int32)[ok],
            time_ms=time_ms[ok],
            lat=np.asarray(self.lat, np.float64)[ok],
            lon=np.asarray(self.lon, np.float64)[ok],
            accuracy_m=np.asarray(self.accuracy_m, np.float32)[ok],
            speed_mps=np.asarray(self.speed_mps, np.float32)[ok],
            altitude_m=np.asarray(self.altitude_m, np.float32)[ok],
        )
        return fixes, bad
