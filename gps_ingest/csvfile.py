"""Read trace CSV files as field teams export them.

One reader for three kinds of CSV, told apart by their columns:

* **positionfixes** (has latitude, longitude and time columns): one fix per row;
* **field stops** (also has a ``name`` column, e.g. OSMTracker waypoint exports): one
  hand-marked stop per row, with passenger counts where present;
* **trace metadata** (a trace id and route/vehicle columns, no coordinates, e.g. the
  Abidjan ``traces.csv``): describes traces uploaded in other files with the same id.

The delimiter (``, ; TAB |``) and a UTF-8 byte-order mark are detected; column names are
matched case-insensitively against the aliases below. Files are parsed with Arrow's
streaming CSV reader in blocks, so a multi-GB export never sits in memory at once: traces
are handed on as soon as the file moves past them (files grouped by trace, as exports are,
stream in constant memory).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from numpy.typing import NDArray

from gps_ingest.containers import peek
from gps_ingest.timeparse import parse_instants
from transit.errors import FormatError
from transit.traces import FieldStop, Positionfixes, Reason, RowRejection, TraceMeta, TraceSet

__all__ = ["COLUMN_ALIASES", "iter_read_csv", "read_csv", "sniff_csv"]

#: Canonical field -> accepted column names (after lower-casing, spaces/dashes -> "_").
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "lat": ("lat", "latitude", "lat_deg", "y"),
    "lon": ("lon", "lng", "long", "longitude", "lon_deg", "x"),
    "time": ("time", "timestamp", "time_utc", "datetime", "date_time", "utc_time",
             "gps_time", "recorded_at", "time_ms", "epoch", "unix_time", "ts"),
    "date": ("date", "gps_date"),
    "trace": ("trace_id", "track_id", "trip_id", "trace", "track", "ride_id"),
    "device": ("device_id", "imei", "unit_id", "device", "phone_id", "handset_id"),
    "accuracy_m": ("accuracy", "accuracy_m", "horizontal_accuracy", "hacc", "acc"),
    "hdop": ("hdop",),
    "speed_mps": ("speed", "speed_mps", "speed_ms", "speed_m_s"),
    "speed_kmh": ("speed_kmh", "speed_kph", "speed_km_h"),
    "altitude_m": ("ele", "altitude", "elevation", "alt", "altitude_m", "ele_m", "elevation_m"),
    "name": ("name", "stop_name", "waypoint", "label"),
    "boardings": ("boardings", "board", "boarded", "passengers_on", "on"),
    "alightings": ("alightings", "alight", "alighted", "passengers_off", "off"),
    "route_name": ("route", "route_name", "line", "route_short_name"),
    "vehicle_type": ("vehicle_type", "mode", "mode_guess", "vehicle"),
    "direction": ("direction", "direction_id", "dir"),
    "notes": ("notes", "note", "comment", "comments"),
}

#: Meters of horizontal error per unit of HDOP (a common user-equivalent range error).
HDOP_TO_M = 5.0
_BLOCK_BYTES = 4 << 20
_MAX_DETAILED_REJECTIONS = 1000
#: reject(line, reason, detail): records a row that did not become a fix or stop.
_Reject = Callable[[int | None, Reason, str], None]
_NUMBER = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"


def _norm(name: str) -> str:
    """``"Speed (km/h)"`` -> ``"speed_kmh"``, ``"Accuracy [m]"`` -> ``"accuracy_m"``."""
    name = name.strip().lower().replace("km/h", "kmh").replace("m/s", "mps")
    name = re.sub(r"[(\[](.*?)[)\]]", r"_\1", name)
    return re.sub(r"[\s\-./_]+", "_", name).strip("_")


def _match_columns(header: list[str]) -> dict[str, str]:
    """Canonical field -> actual column name, first alias wins."""
    normalised = {_norm(h): h for h in reversed(header)}
    found: dict[str, str] = {}
    for fieldname, aliases in COLUMN_ALIASES.items():
        for alias in aliases:
            if alias in normalised:
                found[fieldname] = normalised[alias]
                break
    return found


def sniff_csv(head: bytes) -> bool:
    """True when ``head`` looks like delimited text with a header of known columns."""
    try:
        text = head.decode("utf-8-sig", errors="strict")
    except UnicodeDecodeError:
        text = head[:-4].decode("utf-8-sig", errors="ignore")
    if "\x00" in text or text.lstrip().startswith(("<", "{", "[")):
        return False
    first = text.splitlines()[0] if text.splitlines() else ""
    delim = _delimiter(text)
    cols = _match_columns(next(csv.reader([first], delimiter=delim), []))
    return bool({"lat", "lon"} <= cols.keys() or "trace" in cols)


def _delimiter(sample: str) -> str:
    lines = [ln for ln in sample.splitlines()[:20] if ln.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: lines[0].count(d) for d in ",;\t|"}
        return max(counts, key=lambda d: counts[d])


@dataclass
class _Pending:
    """Columns of one trace not yet handed on."""

    parts: list[dict[str, NDArray[np.generic]]]
    meta: TraceMeta


def read_csv(stream: BinaryIO, *, source: str, timezone: str = "UTC") -> TraceSet:
    """Read a whole CSV into one TraceSet (see :func:`iter_read_csv`)."""
    return merge_tracesets(list(iter_read_csv(stream, source=source, timezone=timezone)))


def merge_tracesets(parts: list[TraceSet]) -> TraceSet:
    """Concatenate TraceSets, re-indexing traces; a trace key split over parts is merged."""
    traces: list[TraceMeta] = []
    index: dict[str, int] = {}
    fixes: list[Positionfixes] = []
    stops: list[FieldStop] = []
    rejections: list[RowRejection] = []
    overflow: dict[str, int] = {}
    for ts in parts:
        remap = np.empty(len(ts.traces), np.int32)
        for i, meta in enumerate(ts.traces):
            if meta.trace_key not in index:
                index[meta.trace_key] = len(traces)
                traces.append(meta)
            remap[i] = index[meta.trace_key]
        fx = ts.fixes.take(np.arange(len(ts.fixes)))
        if len(fx):
            fx.trace_index = remap[fx.trace_index]
        fixes.append(fx)
        stops.extend(ts.field_stops)
        rejections.extend(ts.rejections)
        for k, v in ts.rejection_overflow.items():
            overflow[k] = overflow.get(k, 0) + v
    return TraceSet(traces=traces, fixes=Positionfixes.concat(fixes), field_stops=stops,
                    rejections=rejections, rejection_overflow=overflow)


def iter_read_csv(stream: BinaryIO, *, source: str, timezone: str = "UTC") -> Iterator[TraceSet]:
    """Stream a CSV of positionfixes, field stops or trace metadata.

    Yields TraceSets of complete traces as the file moves past them (fixes keep reason
    OK; rows that cannot become a fix are :class:`RowRejection`\\ s with their line).

    Raises
    ------
    FormatError
        Empty file, not text, no header, or no usable columns (the message lists the
        columns found and the names that would be recognised).
    """
    head, stream = peek(stream)
    if not head.strip():
        raise FormatError("the file is empty", where=source,
                          fix="export the trace again; the file has no rows")
    if b"\x00" in head:
        raise FormatError("binary data, not CSV text", where=source,
                          fix="upload a CSV, GPX, GeoJSON or TransitWand file")
    text = head.decode("utf-8-sig", errors="replace")
    delimiter = _delimiter(text)
    header_line = text.splitlines()[0]
    header = next(csv.reader([header_line], delimiter=delimiter), [])
    cols = _match_columns(header)
    kind = _kind(cols, header, source)
    rejections: list[RowRejection] = []
    overflow: dict[str, int] = {}

    def reject(line: int | None, reason: Reason, detail: str) -> None:
        if len(rejections) < _MAX_DETAILED_REJECTIONS:
            where = f"line {line}" if line is not None else "a row with the wrong cell count"
            rejections.append(RowRejection(where, reason, detail))
        else:
            overflow[reason.code] = overflow.get(reason.code, 0) + 1

    def on_invalid(row: pacsv.InvalidRow) -> str:
        # Arrow knows the line number only when parsing single-threaded; the text says
        # which row it is otherwise.
        reject(row.number, Reason.MISSING_VALUE,
               f"{row.actual_columns} cells where the header has {row.expected_columns}: "
               f"{row.text[:80]!r}")
        return "skip"

    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(block_size=_BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=False,
                                             invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header}, strings_can_be_null=True,
                quoted_strings_can_be_null=True),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise FormatError(f"not a readable CSV file ({_short(exc)})", where=source,
                          fix="export as UTF-8 CSV with one header row") from None

    pending: dict[str, _Pending] = {}
    default_key = re.sub(r"\.(csv|txt)(\.gz)?$", "", source.rsplit("/", 1)[-1]) or "trace"
    line0 = 2  # first data row is line 2
    stops: list[FieldStop] = []
    metas: dict[str, TraceMeta] = {}
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        except (pa.ArrowInvalid, UnicodeDecodeError, OSError) as exc:
            raise FormatError(f"unreadable CSV near line {line0} ({_short(exc)})", where=source,
                              fix="check the file is complete UTF-8 CSV") from None
        n = batch.num_rows
        if n == 0:
            continue
        keys = _text(batch, cols.get("trace"), n, default_key)
        if kind == "meta":
            for key, meta in _metas(batch, cols, keys).items():
                metas[key] = meta
        elif kind == "stops":
            stops.extend(_stops(batch, cols, keys, timezone, line0, reject))
        else:
            finished = _fixes_batch(batch, cols, keys, timezone, line0, reject, pending)
            if finished:
                yield _flush(pending, finished, rejections, overflow)
                rejections, overflow = [], {}
        line0 += n
    if kind == "meta":
        yield TraceSet(traces=list(metas.values()), fixes=Positionfixes.empty(),
                       rejections=rejections, rejection_overflow=overflow)
        return
    if kind == "stops":
        traces = sorted({s.trace_key for s in stops})
        yield TraceSet(traces=[TraceMeta(k) for k in traces], fixes=Positionfixes.empty(),
                       field_stops=stops, rejections=rejections, rejection_overflow=overflow)
        return
    yield _flush(pending, list(pending), rejections, overflow)


def _short(exc: Exception) -> str:
    return " ".join(str(exc).split())[:160]


def _kind(cols: dict[str, str], header: list[str], source: str) -> str:
    has_xy = "lat" in cols and "lon" in cols
    if has_xy and "name" in cols:
        return "stops"
    if has_xy and ("time" in cols):
        return "fixes"
    if not has_xy and "trace" in cols and cols.keys() & {"route_name", "vehicle_type", "device"}:
        return "meta"
    missing = [f for f in ("lat", "lon", "time") if f not in cols]
    names = ", ".join(f"{f}: {'/'.join(COLUMN_ALIASES[f][:4])}" for f in missing)
    raise FormatError(
        f"no {' or '.join(missing)} column among {', '.join(header[:12])}", where=source,
        fix=f"name the columns ({names}) or pass --format explicitly")


def _text(batch: pa.RecordBatch, col: str | None, n: int, default: str) -> pa.Array:
    if col is None:
        return pa.array([default] * n, pa.string())
    arr = pc.utf8_trim_whitespace(batch.column(col))
    return pc.if_else(pc.is_null(arr), default, arr)


def _numbers(arr: pa.Array) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_]]:
    """(values, is_missing, is_bad) of a string column; NaN where missing or bad."""
    if arr.null_count == 0:  # fast path: every cell a clean number
        try:
            values = np.asarray(arr.cast(pa.float64()).to_numpy(zero_copy_only=False),
                                dtype=np.float64)
            missing = np.isnan(values)
            return values, missing, np.zeros(len(values), np.bool_)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    trimmed = pc.utf8_trim_whitespace(arr)
    missing = np.asarray(pc.or_(pc.is_null(trimmed), pc.equal(trimmed, "")).fill_null(True)
                         .to_numpy(zero_copy_only=False), dtype=np.bool_)
    try:
        values = np.asarray(trimmed.cast(pa.float64()).to_numpy(zero_copy_only=False),
                            dtype=np.float64)
        bad = np.zeros(len(values), np.bool_)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        ok = np.asarray(pc.match_substring_regex(trimmed, _NUMBER).fill_null(False)
                        .to_numpy(zero_copy_only=False), dtype=np.bool_)
        masked = pc.if_else(pa.array(ok), trimmed, None)
        values = np.asarray(masked.cast(pa.float64()).to_numpy(zero_copy_only=False),
                            dtype=np.float64)
        bad = ~ok & ~missing
    values = np.where(missing | bad, np.nan, values)
    missing = missing | (~bad & np.isnan(values))  # "NaN" cells count as missing
    return values, missing, bad


def _optional(batch: pa.RecordBatch, col: str | None, n: int) -> NDArray[np.float64]:
    if col is None:
        return np.full(n, np.nan)
    return _numbers(batch.column(col))[0]


def _times(batch: pa.RecordBatch, cols: dict[str, str], timezone: str
           ) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.bool_]]:
    """(time_ms, ok, missing) with a separate date column joined when times are clock-only."""
    cells = batch.column(cols["time"])
    if "date" in cols and cols["date"] != cols["time"]:
        clock_only = pc.match_substring_regex(cells, r"^\s*\d{1,2}:\d\d")
        joined = pc.binary_join_element_wise(batch.column(cols["date"]), cells, " ")
        cells = pc.if_else(clock_only.fill_null(False), joined, cells)
    missing = np.asarray(pc.or_(pc.is_null(cells), pc.equal(pc.utf8_trim_whitespace(cells), ""))
                         .fill_null(True).to_numpy(zero_copy_only=False), dtype=np.bool_)
    time_ms, ok = parse_instants(cells, timezone=timezone)
    return time_ms, ok, missing


def _fixes_batch(batch: pa.RecordBatch, cols: dict[str, str], keys: pa.Array, timezone: str,
                 line0: int, reject: _Reject, pending: dict[str, _Pending]) -> list[str]:
    """Add a batch's good rows to ``pending``; return keys of traces the file moved past."""
    n = batch.num_rows
    lat, lat_missing, lat_bad = _numbers(batch.column(cols["lat"]))
    lon, lon_missing, lon_bad = _numbers(batch.column(cols["lon"]))
    time_ms, time_ok, time_missing = _times(batch, cols, timezone)
    good = ~(lat_missing | lon_missing | lat_bad | lon_bad) & time_ok
    if not good.all():
        for i in np.flatnonzero(~good).tolist():
            if lat_bad[i] or lon_bad[i]:
                which = "latitude" if lat_bad[i] else "longitude"
                reject(line0 + i, Reason.BAD_NUMBER, f"{which} is not a number")
            elif lat_missing[i] or lon_missing[i] or time_missing[i]:
                which = ("latitude" if lat_missing[i] else
                         "longitude" if lon_missing[i] else "time")
                reject(line0 + i, Reason.MISSING_VALUE, f"{which} is empty or NaN")
            else:
                reject(line0 + i, Reason.BAD_TIME, "time is not a recognisable instant")
    accuracy = _optional(batch, cols.get("accuracy_m"), n)
    if "accuracy_m" not in cols and "hdop" in cols:
        accuracy = _optional(batch, cols["hdop"], n) * HDOP_TO_M
    speed = _optional(batch, cols.get("speed_mps"), n)
    if "speed_mps" not in cols and "speed_kmh" in cols:
        speed = _optional(batch, cols["speed_kmh"], n) / 3.6
    altitude = _optional(batch, cols.get("altitude_m"), n)
    devices = _text(batch, cols.get("device"), n, "") if "device" in cols else None
    # group rows by trace key (Arrow's dictionary keeps first-appearance order)
    encoded = pc.dictionary_encode(keys)
    names = encoded.dictionary.to_pylist()
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    good_rows = np.flatnonzero(good)
    order = good_rows[np.argsort(codes[good_rows], kind="stable")]
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    first = np.full(len(names), -1, np.int64)
    first[codes[::-1]] = np.arange(n - 1, -1, -1)
    present: set[str] = set()
    for k, name in enumerate(names):
        key = str(name)
        present.add(key)
        rows = order[bounds[k]:bounds[k + 1]]
        part: dict[str, NDArray[np.generic]] = {
            "time_ms": time_ms[rows], "lat": lat[rows], "lon": lon[rows],
            "accuracy_m": accuracy[rows], "speed_mps": speed[rows],
            "altitude_m": altitude[rows]}
        if key not in pending:
            row = int(first[k])
            device = devices[row].as_py() if devices is not None else None
            pending[key] = _Pending([], _meta_from_row(batch, cols, key, row, device))
        pending[key].parts.append(part)
    return [key for key in pending if key not in present]


def _meta_from_row(batch: pa.RecordBatch, cols: dict[str, str], key: str, row: int,
                   device: str | None) -> TraceMeta:
    def cell(field: str) -> str | None:
        if field not in cols:
            return None
        value = batch.column(cols[field])[row].as_py()
        return str(value).strip() or None if value is not None else None

    return TraceMeta(trace_key=key, device_id=device or None, route_name=cell("route_name"),
                     vehicle_type=cell("vehicle_type"), notes=cell("notes"),
                     direction=cell("direction"))


def _flush(pending: dict[str, _Pending], keys: list[str], rejections: list[RowRejection],
           overflow: dict[str, int]) -> TraceSet:
    """Hand on the traces ``keys`` (removed from ``pending``) with the rows rejected so far."""
    traces: list[TraceMeta] = []
    parts: list[Positionfixes] = []
    for key in keys:
        item = pending.pop(key)
        index = len(traces)
        traces.append(item.meta)
        cat = {f: np.concatenate([p[f] for p in item.parts]) for f in item.parts[0]}
        parts.append(Positionfixes.from_columns(
            trace_index=np.full(len(cat["time_ms"]), index, np.int32), time_ms=cat["time_ms"],
            lat=cat["lat"], lon=cat["lon"], accuracy_m=cat["accuracy_m"],
            speed_mps=cat["speed_mps"], altitude_m=cat["altitude_m"]))
    return TraceSet(traces=traces, fixes=Positionfixes.concat(parts), rejections=rejections,
                    rejection_overflow=overflow)


def _int_or_none(value: float) -> int | None:
    return None if np.isnan(value) else round(value)


def _stops(batch: pa.RecordBatch, cols: dict[str, str], keys: pa.Array, timezone: str,
           line0: int, reject: _Reject) -> list[FieldStop]:
    n = batch.num_rows
    lat, lat_missing, lat_bad = _numbers(batch.column(cols["lat"]))
    lon, lon_missing, lon_bad = _numbers(batch.column(cols["lon"]))
    if "time" in cols:
        time_ms, time_ok, time_missing = _times(batch, cols, timezone)
    else:
        time_ms, time_ok, time_missing = (np.zeros(n, np.int64), np.zeros(n, np.bool_),
                                          np.ones(n, np.bool_))
    names = batch.column(cols["name"]).to_pylist()
    boardings = _optional(batch, cols.get("boardings"), n)
    alightings = _optional(batch, cols.get("alightings"), n)
    key_list = keys.to_pylist()
    out: list[FieldStop] = []
    for i in range(n):
        if lat_missing[i] or lon_missing[i] or lat_bad[i] or lon_bad[i]:
            reject(line0 + i, Reason.BAD_NUMBER if (lat_bad[i] or lon_bad[i])
                   else Reason.MISSING_VALUE, "stop position is empty or not a number")
            continue
        if not time_ok[i] and not time_missing[i]:
            reject(line0 + i, Reason.BAD_TIME, "time is not a recognisable instant")
            continue
        name = names[i].strip() if isinstance(names[i], str) and names[i].strip() else None
        out.append(FieldStop(
            trace_key=str(key_list[i]), lat=float(lat[i]), lon=float(lon[i]),
            time_ms=int(time_ms[i]) if time_ok[i] else None, name=name,
            boardings=_int_or_none(boardings[i]), alightings=_int_or_none(alightings[i])))
    return out


def _metas(batch: pa.RecordBatch, cols: dict[str, str], keys: pa.Array) -> dict[str, TraceMeta]:
    out: dict[str, TraceMeta] = {}
    devices = batch.column(cols["device"]).to_pylist() if "device" in cols else None
    for i, key in enumerate(keys.to_pylist()):
        device = devices[i] if devices is not None else None
        out[str(key)] = _meta_from_row(batch, cols, str(key), i,
                                       str(device).strip() if device else None)
    return out
