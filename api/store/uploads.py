"""Repository functions for uploads, traces, fix blocks and field stops.

Every function takes a SQLAlchemy ``Connection`` inside a transaction the caller owns, so
the caller decides what is atomic (see :mod:`api.ingest`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np
from sqlalchemy import Connection, bindparam, func, insert, select, update

from api.store.fixblocks import decode_block, encode_block
from api.store.schema import (
    BLOCK_FIXES,
    CHUNK_BYTES,
    field_stops,
    fix_blocks,
    row_rejections,
    traces,
    upload_chunks,
    uploads,
)
from transit.errors import NotFoundError
from transit.traces import FieldStop, Positionfixes, Reason, TraceMeta, TraceSet

__all__ = [
    "StoredTrace",
    "TraceWriter",
    "UploadRecord",
    "claim_rejected",
    "create_upload",
    "finish_upload",
    "get_upload",
    "iter_raw_bytes",
    "list_traces",
    "list_uploads",
    "load_traceset",
    "mark_interrupted",
    "upload_by_sha256",
]


@dataclass(frozen=True)
class UploadRecord:
    """One stored upload, as the CLI and the service show it (no raw bytes)."""

    id: int
    sha256: str
    filename: str
    format: str | None
    size_bytes: int
    uploaded_by: str | None
    uploaded_at: dt.datetime
    timezone: str
    status: str
    error: str | None
    n_traces: int
    n_fixes_accepted: int
    n_fixes_rejected: int
    n_field_stops: int
    reason_counts: dict[str, int]


@dataclass(frozen=True)
class StoredTrace:
    """One stored trace's summary."""

    id: int
    upload_id: int
    trace_key: str
    device_id: str | None
    route_name: str | None
    vehicle_type: str | None
    direction: str | None
    n_fixes: int
    n_accepted: int
    n_segments: int
    start_ms: int | None
    end_ms: int | None


def _upload(row: Any) -> UploadRecord:
    m = row._mapping
    return UploadRecord(**{f: m[f] for f in UploadRecord.__dataclass_fields__})


def upload_by_sha256(conn: Connection, sha256: str) -> UploadRecord | None:
    """The upload with these bytes, if any."""
    row = conn.execute(select(uploads).where(uploads.c.sha256 == sha256)).first()
    return _upload(row) if row else None


def get_upload(conn: Connection, upload_id: int) -> UploadRecord:
    """The upload with this id; :class:`NotFoundError` when there is none."""
    row = conn.execute(select(uploads).where(uploads.c.id == upload_id)).first()
    if row is None:
        raise NotFoundError(f"no upload with id {upload_id}",
                            fix="list uploads with `transit traces list`")
    return _upload(row)


def list_uploads(conn: Connection) -> list[UploadRecord]:
    """All uploads, oldest first."""
    return [_upload(r) for r in conn.execute(select(uploads).order_by(uploads.c.id))]


def create_upload(conn: Connection, *, sha256: str, filename: str, size_bytes: int,
                  uploaded_by: str | None, timezone: str, stream: BinaryIO) -> int:
    """Insert an upload in state ``receiving`` and store its raw bytes in chunks."""
    upload_id = conn.execute(insert(uploads).values(
        sha256=sha256, filename=filename, format=None, size_bytes=size_bytes,
        uploaded_by=uploaded_by, uploaded_at=dt.datetime.now(dt.UTC), timezone=timezone,
        status="receiving", error=None, n_traces=0, n_fixes_accepted=0, n_fixes_rejected=0,
        n_field_stops=0, reason_counts={},
    ).returning(uploads.c.id)).scalar_one()
    batch: list[dict[str, Any]] = []
    for seq, block in enumerate(iter(lambda: stream.read(CHUNK_BYTES), b"")):
        batch.append({"upload_id": upload_id, "seq": seq, "data": block})
        if len(batch) >= 16:
            conn.execute(insert(upload_chunks), batch)
            batch = []
    if batch:
        conn.execute(insert(upload_chunks), batch)
    return int(upload_id)


def claim_rejected(conn: Connection, upload_id: int) -> bool:
    """Move a rejected upload back to ``receiving``; False when another caller did first."""
    result = conn.execute(update(uploads).where(uploads.c.id == upload_id)
                          .where(uploads.c.status == "rejected")
                          .values(status="receiving", error=None))
    return result.rowcount == 1


def mark_interrupted(conn: Connection) -> int:
    """Uploads left ``receiving`` by a process that died: mark them rejected (their raw
    bytes are kept, so uploading the same file again parses them anew)."""
    result = conn.execute(update(uploads).where(uploads.c.status == "receiving").values(
        status="rejected", error="interrupted before the traces were stored; upload again"))
    return int(result.rowcount)


def iter_raw_bytes(conn: Connection, upload_id: int) -> Iterator[bytes]:
    """The kept raw bytes of an upload, chunk by chunk."""
    get_upload(conn, upload_id)
    query = (select(upload_chunks.c.data).where(upload_chunks.c.upload_id == upload_id)
             .order_by(upload_chunks.c.seq))
    for (data,) in conn.execute(query):
        yield bytes(data)


def finish_upload(conn: Connection, upload_id: int, *, status: str, fmt: str | None,
                  error: str | None = None, counts: dict[str, int] | None = None,
                  n_traces: int = 0, n_accepted: int = 0, n_rejected: int = 0,
                  n_field_stops: int = 0) -> None:
    """Record the outcome of parsing an upload."""
    conn.execute(update(uploads).where(uploads.c.id == upload_id).values(
        status=status, format=fmt, error=error, reason_counts=counts or {},
        n_traces=n_traces, n_fixes_accepted=n_accepted, n_fixes_rejected=n_rejected,
        n_field_stops=n_field_stops))


@dataclass
class _TraceState:
    id: int
    next_seq: int = 0
    n_fixes: int = 0
    n_accepted: int = 0
    segments: set[int] = field(default_factory=set)
    start_ms: int | None = None
    end_ms: int | None = None


class TraceWriter:
    """Writes the parts of one upload (a file may arrive in several TraceSets).

    A trace key seen again in a later part gets its blocks appended to the same trace.
    """

    def __init__(self, conn: Connection, upload_id: int) -> None:
        self.conn = conn
        self.upload_id = upload_id
        self._traces: dict[str, _TraceState] = {}
        self.n_field_stops = 0

    def write(self, ts: TraceSet) -> None:
        """Store the traces, fix blocks, field stops and row rejections of ``ts``."""
        fx = ts.fixes
        order = np.lexsort((fx.time_ms, fx.trace_index)) if len(fx) else np.zeros(0, np.int64)
        bounds = np.searchsorted(fx.trace_index[order], np.arange(len(ts.traces) + 1))
        blocks: list[dict[str, Any]] = []
        self._create_traces([*ts.traces, *(TraceMeta(s.trace_key) for s in ts.field_stops)])
        for index, meta in enumerate(ts.traces):
            state = self._traces[meta.trace_key]
            rows = order[bounds[index]:bounds[index + 1]]
            for start in range(0, len(rows), BLOCK_FIXES):
                part = fx.take(rows[start:start + BLOCK_FIXES])
                blocks.append(_block_row(state, part))
        if blocks:
            self.conn.execute(insert(fix_blocks), blocks)
        if ts.field_stops:
            self.conn.execute(insert(field_stops), [_stop_row(self.upload_id, s)
                                                    for s in ts.field_stops])
            self.n_field_stops += len(ts.field_stops)
        if ts.rejections:
            self.conn.execute(insert(row_rejections), [
                {"upload_id": self.upload_id, "location": r.where[:256],
                 "reason": int(r.reason), "detail": r.detail} for r in ts.rejections])

    def _create_traces(self, metas: list[TraceMeta]) -> None:
        """Insert the traces not seen before in this upload, in one statement."""
        new: dict[str, TraceMeta] = {}
        for meta in metas:
            if meta.trace_key not in self._traces and meta.trace_key not in new:
                new[meta.trace_key] = meta
        if not new:
            return
        rows = [{"upload_id": self.upload_id, "trace_key": m.trace_key[:256],
                 "device_id": m.device_id, "route_name": m.route_name,
                 "vehicle_type": m.vehicle_type, "direction": m.direction, "notes": m.notes,
                 "n_fixes": 0, "n_accepted": 0, "n_segments": 0, "has_fixes": False}
                for m in new.values()]
        ids = self.conn.execute(insert(traces).returning(traces.c.id,
                                                         sort_by_parameter_order=True),
                                rows).scalars().all()
        for key, trace_id in zip(new, ids, strict=True):
            self._traces[key] = _TraceState(int(trace_id))

    def close(self) -> int:
        """Write per-trace totals; return the number of traces."""
        if self._traces:
            statement = update(traces).where(traces.c.id == bindparam("trace_id")).values(
                n_fixes=bindparam("n_fixes"), n_accepted=bindparam("n_accepted"),
                n_segments=bindparam("n_segments"), start_ms=bindparam("start_ms"),
                end_ms=bindparam("end_ms"), has_fixes=bindparam("has_fixes"))
            self.conn.execute(statement, [
                {"trace_id": st.id, "n_fixes": st.n_fixes, "n_accepted": st.n_accepted,
                 "n_segments": len(st.segments), "start_ms": st.start_ms, "end_ms": st.end_ms,
                 "has_fixes": st.n_fixes > 0} for st in self._traces.values()])
        return len(self._traces)


def _block_row(state: _TraceState, part: Positionfixes) -> dict[str, Any]:
    kept = (part.reason == 0) | (part.reason >= 100)
    state.n_fixes += len(part)
    state.n_accepted += int(kept.sum())
    state.segments.update(np.unique(part.segment[part.segment >= 0]).tolist())
    if kept.any():
        t0, t1 = int(part.time_ms[kept].min()), int(part.time_ms[kept].max())
        state.start_ms = t0 if state.start_ms is None else min(state.start_ms, t0)
        state.end_ms = t1 if state.end_ms is None else max(state.end_ms, t1)
    finite = np.isfinite(part.lat) & np.isfinite(part.lon)
    lat = part.lat[finite] if finite.any() else np.zeros(1)
    lon = part.lon[finite] if finite.any() else np.zeros(1)
    row = {
        "trace_id": state.id, "seq": state.next_seq, "n_fixes": len(part),
        "start_ms": int(part.time_ms.min()), "end_ms": int(part.time_ms.max()),
        "min_lat": float(lat.min()), "max_lat": float(lat.max()),
        "min_lon": float(lon.min()), "max_lon": float(lon.max()),
        "data": encode_block({
            "time_ms": part.time_ms, "lat": part.lat, "lon": part.lon,
            "accuracy_m": part.accuracy_m, "speed_mps": part.speed_mps,
            "altitude_m": part.altitude_m, "reason": part.reason, "segment": part.segment}),
    }
    state.next_seq += 1
    return row


def _stop_row(upload_id: int, s: FieldStop) -> dict[str, Any]:
    return {"upload_id": upload_id, "trace_key": s.trace_key[:256], "name": s.name,
            "time_ms": s.time_ms, "departure_ms": s.departure_ms, "lat": s.lat, "lon": s.lon,
            "boardings": s.boardings, "alightings": s.alightings}


def _stored(row: Any) -> StoredTrace:
    m = row._mapping
    return StoredTrace(**{f: m[f] for f in StoredTrace.__dataclass_fields__})


def list_traces(conn: Connection, *, upload_id: int | None = None) -> list[StoredTrace]:
    """Stored traces (of one upload, or of every stored upload), in upload then key order."""
    query = (select(traces).join(uploads, uploads.c.id == traces.c.upload_id)
             .where(uploads.c.status == "stored").order_by(traces.c.upload_id, traces.c.id))
    if upload_id is not None:
        query = query.where(traces.c.upload_id == upload_id)
    return [_stored(r) for r in conn.execute(query)]


def count_stored_fixes(conn: Connection) -> int:
    """Total fixes in stored uploads."""
    query = (select(func.coalesce(func.sum(traces.c.n_fixes), 0))
             .join(uploads, uploads.c.id == traces.c.upload_id)
             .where(uploads.c.status == "stored"))
    return int(conn.execute(query).scalar_one())


def load_traceset(conn: Connection, *, upload_ids: Iterable[int] | None = None) -> TraceSet:
    """Every stored trace with fixes as one TraceSet, ready for the builder.

    Traces that share a key across uploads are joined by key: a metadata-only trace
    (e.g. from a ``traces.csv``) lends its route name, vehicle type and direction, and
    field stops attach by key. Two fix-bearing traces with the same key in different
    uploads stay apart as ``key@upload_id``.
    """
    query = (select(traces).join(uploads, uploads.c.id == traces.c.upload_id)
             .where(uploads.c.status == "stored").order_by(traces.c.upload_id, traces.c.id))
    if upload_ids is not None:
        query = query.where(traces.c.upload_id.in_(list(upload_ids)))
    rows = [r._mapping for r in conn.execute(query)]
    lend: dict[str, dict[str, Any]] = {}
    for r in rows:
        info = lend.setdefault(r["trace_key"], {})
        for f in ("route_name", "vehicle_type", "direction", "device_id", "notes"):
            if r[f] and f not in info:
                info[f] = r[f]
    with_fixes = [r for r in rows if r["has_fixes"]]
    key_count: dict[str, int] = {}
    for r in with_fixes:
        key_count[r["trace_key"]] = key_count.get(r["trace_key"], 0) + 1
    metas: list[TraceMeta] = []
    index_of: dict[int, int] = {}
    for r in with_fixes:
        key = r["trace_key"]
        info = lend.get(key, {})
        shown = key if key_count[key] == 1 else f"{key}@{r['upload_id']}"
        index_of[r["id"]] = len(metas)
        metas.append(TraceMeta(
            trace_key=shown, device_id=r["device_id"] or info.get("device_id"),
            route_name=r["route_name"] or info.get("route_name"),
            vehicle_type=r["vehicle_type"] or info.get("vehicle_type"),
            direction=r["direction"] or info.get("direction"),
            notes=r["notes"] or info.get("notes")))
    parts: list[Positionfixes] = []
    if index_of:
        block_query = (select(fix_blocks.c.trace_id, fix_blocks.c.data)
                       .where(fix_blocks.c.trace_id.in_(list(index_of)))
                       .order_by(fix_blocks.c.trace_id, fix_blocks.c.seq))
        for trace_id, data in conn.execute(block_query):
            cols = decode_block(bytes(data))
            n = len(cols["time_ms"])
            parts.append(Positionfixes(
                trace_index=np.full(n, index_of[trace_id], np.int32),
                time_ms=cols["time_ms"], lat=cols["lat"], lon=cols["lon"],  # type: ignore[arg-type]
                accuracy_m=cols["accuracy_m"], speed_mps=cols["speed_mps"],  # type: ignore[arg-type]
                altitude_m=cols["altitude_m"], reason=cols["reason"],  # type: ignore[arg-type]
                segment=cols["segment"]))  # type: ignore[arg-type]
    keys = {m.trace_key.split("@")[0] for m in metas}
    stop_query = select(field_stops).join(uploads, uploads.c.id == field_stops.c.upload_id).where(
        uploads.c.status == "stored").order_by(field_stops.c.id)
    stops: list[FieldStop] = []
    for stop_row in conn.execute(stop_query):
        m = stop_row._mapping
        if m["trace_key"] not in keys:
            continue
        stops.append(FieldStop(trace_key=m["trace_key"], lat=m["lat"], lon=m["lon"],
                               time_ms=m["time_ms"], departure_ms=m["departure_ms"],
                               name=m["name"], boardings=m["boardings"],
                               alightings=m["alightings"]))
    for meta in metas:
        if "@" in meta.trace_key:  # make field stops of a shared key reach every copy
            base = meta.trace_key.split("@")[0]
            stops.extend(FieldStop(**{**_as_dict(s), "trace_key": meta.trace_key})
                         for s in stops if s.trace_key == base)
    return TraceSet(traces=metas, fixes=Positionfixes.concat(parts), field_stops=stops)


def _as_dict(stop: FieldStop) -> dict[str, Any]:
    return {f: getattr(stop, f) for f in FieldStop.__dataclass_fields__}


def rejection_rows(conn: Connection, upload_id: int,
                   limit: int = 100) -> list[tuple[str, str, str]]:
    """(location, reason code, detail) of the first rejected rows of an upload."""
    query = (select(row_rejections.c.location, row_rejections.c.reason, row_rejections.c.detail)
             .where(row_rejections.c.upload_id == upload_id).order_by(row_rejections.c.id)
             .limit(limit))
    return [(loc, Reason(code).code, detail) for loc, code, detail in conn.execute(query)]
