"""Turn the many ways phones write a time into UTC instants (integer ms since the epoch).

Accepted, per cell (a file may mix them):

* ISO 8601 with a zone (``2019-11-05T16:31:29Z``, ``...+03:00``): taken as written.
* ISO 8601 without a zone (``2019-11-05 16:31:29``): local time in the configured IANA
  timezone (``--timezone``), converted to UTC. Non-existent or ambiguous local times
  (DST changes) are rejected rather than guessed.
* Epoch numbers: seconds, or milliseconds when the value is over 10^11 (after 1973 in ms,
  year 5138 in seconds); fractions allowed.
* Other date texts (``2019/11/05 16:31``, ``05 Nov 2019 16:31``) through dateutil, as
  local time unless they carry a zone; day-first only when the first field is over 12.

Every cell that is none of these comes back with ``ok = False``; nothing raises for bad
cells. Vectorised with pandas: the ISO fast path parses millions of cells per second.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray
from pandas._libs.tslibs.nattype import NaTType

from transit.errors import InputError

__all__ = ["check_timezone", "parse_instants"]

_EPOCH_MS_THRESHOLD = 1e11


def check_timezone(name: str) -> str:
    """Return ``name`` when it is a known IANA timezone, else raise :class:`InputError`."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Africa" is a folder
        raise InputError(f"unknown timezone {name!r}", where="--timezone",
                         fix="give an IANA name such as Africa/Nairobi or UTC") from None
    return name


_NAT_MS = np.iinfo(np.int64).min
_ZONED_ISO = r"^\s*\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|z|[+-]\d\d(:?\d\d)?)\s*$"


def parse_instants(
    values: Sequence[object] | NDArray[np.object_] | pd.Series,
    *,
    timezone: str = "UTC",
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Parse time cells into UTC instants.

    Parameters
    ----------
    values
        Cells as read (strings, numbers, None/NaN).
    timezone
        IANA zone of times written without a zone.

    Returns
    -------
    time_ms, ok
        UTC ms since the epoch (int64; undefined where not ok) and a mask of cells that
        parsed.
    """
    cells = _as_text(values)
    n = len(cells)
    out = np.full(n, _NAT_MS, dtype=np.int64)
    if n == 0:
        return out, np.zeros(0, dtype=np.bool_)
    # Fast path: a whole column of zoned ISO 8601 (the common case) in one Arrow cast.
    # A failing cast is slow, so it is tried only when a sample looks zoned.
    sample = cells.drop_null().slice(0, 64)
    if len(sample) and _mask(pc.match_substring_regex(sample, _ZONED_ISO)).all():
        try:
            whole = cells.cast(pa.timestamp("ms", tz="UTC"))
            out[:] = _arrow_ms(whole)
            return out, out != _NAT_MS
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    stripped = pc.utf8_trim_whitespace(cells)
    is_num = _mask(pc.match_substring_regex(stripped, r"^[+-]?(\d+\.?\d*|\.\d+)$"))
    is_iso = _mask(pc.match_substring_regex(stripped, r"^\d{4}-\d\d-\d\d"))
    is_zoned = _mask(pc.match_substring_regex(stripped, r"(Z|z|[+-]\d\d(:?\d\d)?)$"))
    if is_num.any():
        idx = np.flatnonzero(is_num)
        num = _take(stripped, idx).cast(pa.float64()).to_numpy(zero_copy_only=False)
        ms = np.where(np.abs(num) > _EPOCH_MS_THRESHOLD, num, num * 1000.0)
        good = np.isfinite(ms) & (np.abs(ms) < 1e15)
        out[idx[good]] = np.round(ms[good]).astype(np.int64)
    zoned = is_iso & is_zoned & ~is_num
    local = is_iso & ~is_zoned & ~is_num
    _fill_iso(out, np.flatnonzero(zoned), stripped, None)
    _fill_iso(out, np.flatnonzero(local), stripped, timezone)
    other = ~is_iso & ~is_num & _mask(pc.is_valid(stripped)) & _mask(
        pc.greater(pc.utf8_length(stripped), 0))
    if other.any():
        idx = np.flatnonzero(other)
        _fill_other(out, idx, _take(stripped, idx).to_pylist(), timezone)
    return out, out != _NAT_MS


def _as_text(values: Sequence[object] | NDArray[np.object_] | pd.Series) -> pa.Array:
    """Cells as an Arrow string array; None/NaN/empty become null."""
    if isinstance(values, pa.Array | pa.ChunkedArray):
        arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    else:
        series = (values if isinstance(values, pd.Series)
                  else pd.Series(list(values), dtype="object"))
        if series.dtype == object:
            series = series.map(_cell_text, na_action="ignore")
        arr = pa.array(series, from_pandas=True)
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.string())
    return arr


def _cell_text(cell: object) -> object:
    if isinstance(cell, float) and cell != cell:
        return None
    return cell if isinstance(cell, str) else repr(cell) if isinstance(cell, float) else str(cell)


def _mask(arr: pa.Array | pa.ChunkedArray) -> NDArray[np.bool_]:
    return np.asarray(arr.fill_null(False).to_numpy(zero_copy_only=False), dtype=np.bool_)


def _take(arr: pa.Array, idx: NDArray[np.int64]) -> pa.Array:
    return arr.take(pa.array(idx, type=pa.int64()))


def _arrow_ms(arr: pa.Array) -> NDArray[np.int64]:
    ints = arr.cast(pa.int64()).fill_null(_NAT_MS)
    return np.asarray(ints.to_numpy(zero_copy_only=False), dtype=np.int64)


def _fill_iso(out: NDArray[np.int64], idx: NDArray[np.int64], cells: pa.Array,
              timezone: str | None) -> None:
    """ISO 8601 cells: one Arrow cast when they all parse, else pandas cell by cell."""
    if len(idx) == 0:
        return
    sub = _take(cells, idx)
    target = pa.timestamp("ms", tz="UTC") if timezone is None else pa.timestamp("ms")
    try:
        ms = _arrow_ms(sub.cast(target))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(pd.Series(sub.to_pylist(), dtype="object"),
                                    format="ISO8601", errors="coerce",
                                    utc=timezone is None)
        if parsed.dt.tz is not None:
            parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
        ms = parsed.to_numpy(dtype="datetime64[ms]").astype(np.int64)
    good = ms != _NAT_MS
    if timezone is not None and timezone != "UTC" and good.any():
        local = pd.DatetimeIndex(ms[good].astype("datetime64[ms]"))
        utc = local.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
        conv = utc.tz_convert("UTC").tz_localize(None).to_numpy(dtype="datetime64[ms]")
        converted = conv.astype(np.int64)
        ms = ms.copy()
        ms[good] = converted
        good = ms != _NAT_MS
    out[idx[good]] = ms[good]
    bad = ~good
    if bad.any():
        # e.g. "2019-11-05 16:31:29 EAT": let dateutil try
        _fill_other(out, idx[bad], _take(cells, idx[bad]).to_pylist(), timezone or "UTC")


def _fill_other(out: NDArray[np.int64], idx: NDArray[np.int64], cells: list[object],
                timezone: str) -> None:
    """Slow path, per cell, through dateutil."""
    zone = ZoneInfo(timezone)
    for i, cell in zip(idx.tolist(), cells, strict=True):
        first = re.match(r"^\s*(\d{1,2})[/.-]", str(cell))
        dayfirst = bool(first and int(first.group(1)) > 12)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                parsed = pd.to_datetime(str(cell), dayfirst=dayfirst)
            except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime):
                continue
        if not isinstance(parsed, pd.Timestamp):
            continue
        try:
            local: pd.Timestamp | NaTType = parsed
            if parsed.tzinfo is None:
                local = parsed.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
            if not isinstance(local, pd.Timestamp):
                continue
            out[i] = int(local.tz_convert("UTC").value // 1_000_000)
        except (ValueError, OverflowError):
            continue
