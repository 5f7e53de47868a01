"""Small parsers and geometry shared by the rules (no I/O)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from numpy.typing import NDArray

EARTH_RADIUS_M = 6_371_008.8
_TIME_RE = re.compile(r"^\s*(\d{1,3}):([0-5]\d):([0-5]\d)\s*$")


def parse_clock(text: str) -> int | None:
    """Seconds since service-day midnight for ``H:MM:SS`` / ``HH:MM:SS``; None if not one."""
    m = _TIME_RE.match(text)
    if m is None:
        return None
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3))


def to_float(column: pd.Series) -> NDArray[np.float64]:
    """A text column as floats, NaN where the cell is empty or not a number."""
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)


def haversine_m(lat1: NDArray[np.float64], lon1: NDArray[np.float64],
                lat2: NDArray[np.float64], lon2: NDArray[np.float64]) -> NDArray[np.float64]:
    """Great-circle distance in metres, element-wise (degrees in)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a))))


def column(frame: pd.DataFrame, name: str) -> pd.Series:
    """``frame[name]`` or a column of empty strings when absent."""
    if name in frame.columns:
        return frame[name].astype(str)
    return pd.Series([""] * len(frame), index=frame.index, dtype=str)


def row_label(index: int) -> str:
    """The CSV row of a 0-based data row, counting the header as row 1: ``"row 2"``."""
    return f"row {index + 2}"


def parse_clocks(column_text: pd.Series) -> NDArray[np.float64]:
    """Vectorised :func:`parse_clock`: seconds as floats, NaN where not a time."""
    parts = column_text.astype(str).str.extract(r"^\s*(\d{1,3}):([0-5]\d):([0-5]\d)\s*$")
    nums = parts.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    if nums.size == 0:
        return np.zeros(0, dtype=np.float64)
    return np.asarray(nums[:, 0] * 3600 + nums[:, 1] * 60 + nums[:, 2])


def local_xy_m(lat: NDArray[np.float64], lon: NDArray[np.float64], lat0: float,
               lon0: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Equirectangular metres around ``(lat0, lon0)``; good to 0.1 % within ~50 km."""
    k = np.pi / 180 * EARTH_RADIUS_M
    return (lon - lon0) * k * np.cos(np.radians(lat0)), (lat - lat0) * k


def ordered_stop_times(feed_stop_times: pd.DataFrame) -> pd.DataFrame:
    """stop_times sorted by trip and integer stop_sequence, with ``_arr``/``_dep`` seconds."""
    st = feed_stop_times
    seq = pd.to_numeric(column(st, "stop_sequence"), errors="coerce").fillna(-1)
    out = st.assign(_seq=seq.astype(np.int64), _arr=parse_clocks(column(st, "arrival_time")),
                    _dep=parse_clocks(column(st, "departure_time")))
    return out.sort_values(["trip_id", "_seq"], kind="stable").reset_index(drop=True)
