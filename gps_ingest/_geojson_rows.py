"""Fix rows of a GeoJSON document: coordinates checked as added, times parsed at the end.

Private to :mod:`gps_ingest.geojson`. Each row remembers its feature index and vertex
index (-1 for a Point feature) so that rejections can say where they are and sort in file
order. A line whose vertices are all clean numbers is added in one numpy step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from gps_ingest._assemble import coordinate
from gps_ingest.timeparse import parse_instants
from transit.traces import Positionfixes, Reason, RowRejection

__all__ = ["FixRows", "lon_lat", "order_key", "where_text"]

#: Order key of a feature: feature index times this, plus 1 + vertex index.
_FEATURE_STRIDE = 1_000_000_000


def lon_lat(coords: object) -> tuple[float, float, Reason]:
    """Longitude and latitude of a GeoJSON position ``[lon, lat(, ele)]``."""
    if not isinstance(coords, list | tuple) or len(coords) < 2:
        return np.nan, np.nan, Reason.MISSING_VALUE
    lon, lon_reason = coordinate(coords[0])
    lat, lat_reason = coordinate(coords[1])
    return lon, lat, lon_reason or lat_reason


def order_key(feature: int, vertex: int = -1) -> int:
    """Sort key of a feature (``vertex=-1``) or of one of its vertices, in file order."""
    return feature * _FEATURE_STRIDE + 1 + vertex


def where_text(feature: int, vertex: int = -1) -> str:
    """``features[i]`` or ``features[i] vertex j`` (0-based, as in the JSON arrays)."""
    return f"features[{feature}]" if vertex < 0 else f"features[{feature}] vertex {vertex}"


_COLUMNS = ("feature", "vertex", "trace", "lat", "lon", "accuracy_m", "speed_mps",
            "altitude_m")


@dataclass(slots=True)


class FixRows:
    """Fixes gathered feature by feature; :meth:`finish` parses all times in one call."""

    timezone: str
    chunks: dict[str, list[NDArray[np.generic]]] = field(
        default_factory=lambda: {name: [] for name in _COLUMNS})
    pending: dict[str, list[float]] = field(
        default_factory=lambda: {name: [] for name in _COLUMNS})
    times: list[object] = field(default_factory=list)
    bad: list[tuple[int, RowRejection]] = field(default_factory=list)

    def add(self, feature: int, vertex: int, trace: int, coords: object, time: object,
            extras: tuple[float, float, float]) -> None:
        """Add one position; a bad coordinate is rejected at once.

        ``extras`` is (accuracy_m, speed_mps, altitude_m), NaN where absent.
        """
        lon, lat, reason = lon_lat(coords)
        if reason != Reason.OK:
            self.bad.append((order_key(feature, vertex), RowRejection(
                where=where_text(feature, vertex), reason=reason,
                detail=f"coordinates {coords!r}")))
            return
        row = (feature, vertex, trace, lat, lon, *extras)
        for name, value in zip(_COLUMNS, row, strict=True):
            self.pending[name].append(value)
        self.times.append(None if isinstance(time, bool | dict | list) else time)

    def add_line(self, feature: int, trace: int, vertices: list[object], times: list[object],
                 extras: dict[str, NDArray[np.float64]]) -> bool:
        """Add every vertex of a line in one step when all are clean ``[lon, lat(, ele)]``
        numbers; False (nothing added) otherwise, so the caller goes vertex by vertex.

        ``extras`` holds per-vertex ``accuracy_m``, ``speed_mps`` and ``altitude_m``
        (NaN where absent); a third coordinate overrides ``altitude_m``.
        """
        try:
            xyz = np.asarray(vertices, dtype=np.float64)
        except (ValueError, TypeError):
            return False
        if xyz.ndim != 2 or xyz.shape[1] < 2 or not np.isfinite(xyz[:, :2]).all():
            return False
        self._flush()
        n = len(xyz)
        altitude_m = xyz[:, 2] if xyz.shape[1] > 2 else extras["altitude_m"]
        columns: dict[str, NDArray[np.generic]] = {
            "feature": np.full(n, feature, np.int64), "vertex": np.arange(n, dtype=np.int64),
            "trace": np.full(n, trace, np.int64), "lat": xyz[:, 1], "lon": xyz[:, 0],
            "accuracy_m": extras["accuracy_m"], "speed_mps": extras["speed_mps"],
            "altitude_m": altitude_m,
        }
        for name, values in columns.items():
            self.chunks[name].append(values)
        self.times.extend(None if isinstance(t, bool | dict | list) else t for t in times)
        return True

    def _flush(self) -> None:
        if self.pending["feature"]:
            for name in _COLUMNS:
                self.chunks[name].append(np.asarray(self.pending[name], dtype=np.float64))
                self.pending[name] = []

    def finish(self) -> tuple[Positionfixes, list[tuple[int, RowRejection]]]:
        """The fixes in the order added, and (order key, rejection) pairs."""
        self._flush()
        col = {name: (np.concatenate(parts) if parts else np.zeros(0))
               for name, parts in self.chunks.items()}
        time_ms, ok = parse_instants(self.times, timezone=self.timezone)
        bad = list(self.bad)
        feature = col["feature"].astype(np.int64)
        vertex = col["vertex"].astype(np.int64)
        for i in np.flatnonzero(~ok).tolist():
            cell = self.times[i]
            missing = cell is None or (isinstance(cell, str) and not cell.strip())
            reason = Reason.MISSING_VALUE if missing else Reason.BAD_TIME
            detail = "no time" if missing else f"time {cell!r}"
            f, v = int(feature[i]), int(vertex[i])
            bad.append((order_key(f, v), RowRejection(where=where_text(f, v), reason=reason,
                                                      detail=detail)))
        fixes = Positionfixes.from_columns(
            trace_index=col["trace"][ok].astype(np.int32),
            time_ms=time_ms[ok],
            lat=col["lat"][ok],
            lon=col["lon"][ok],
            accuracy_m=col["accuracy_m"][ok],
            speed_mps=col["speed_mps"][ok],
            altitude_m=col["altitude_m"][ok],
        )
        return fixes, bad
