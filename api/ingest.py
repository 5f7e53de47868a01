"""Ingest one upload into the store: the same path for the CLI and the HTTP service.

1. Hash the bytes (streaming). The same bytes already stored: say so, change nothing.
   The same bytes kept but rejected before: parse them again with the options given.
2. Keep the raw bytes (upload row + chunks) in their own transaction, so a file that
   fails to parse is still kept for later re-processing.
3. Read, clean and store every trace in a second transaction. If the file turns out to
   be unusable half-way (truncated zip, garbage), that transaction rolls back: nothing
   half-written stays, and the upload is marked ``rejected`` with the one-line reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from api.store import uploads as repo
from gps_ingest.pipeline import ReadOptions, read_parts
from transit.errors import InputError, StoreError, TooLargeError, TransitError

__all__ = ["IngestResult", "ingest_file", "ingest_stream"]

#: Uploads larger than this are refused before anything is stored (bytes).
DEFAULT_MAX_UPLOAD_BYTES = 4 * 1024**3


@dataclass
class IngestResult:
    """What happened to one upload."""

    upload_id: int | None
    filename: str
    sha256: str
    size_bytes: int
    status: str  # stored | duplicate | rejected
    format: str | None = None
    n_traces: int = 0
    n_accepted: int = 0
    n_rejected: int = 0
    n_field_stops: int = 0
    reason_counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the file's content is stored (now or before)."""
        return self.status in ("stored", "duplicate")


def _hash(stream: BinaryIO) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    for block in iter(lambda: stream.read(1 << 20), b""):
        digest.update(block)
        size += len(block)
    stream.seek(0)
    return digest.hexdigest(), size


def ingest_file(engine: Engine, path: str | Path, *, options: ReadOptions | None = None,
                uploaded_by: str | None = None,
                max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
                on_progress: Callable[[int], None] | None = None) -> IngestResult:
    """Ingest a file from disk (see :func:`ingest_stream`)."""
    p = Path(path)
    if p.is_dir():
        raise InputError("is a folder, not a file", where=str(p),
                         fix="give the trace files inside it (e.g. folder/*.gpx)")
    try:
        with p.open("rb") as fh:
            return ingest_stream(engine, fh, filename=p.name, options=options,
                                 uploaded_by=uploaded_by, max_bytes=max_bytes,
                                 on_progress=on_progress)
    except FileNotFoundError:
        raise InputError("no such file", where=str(p), fix="check the path") from None
    except PermissionError:
        raise InputError("cannot read the file (permission denied)", where=str(p),
                         fix="check the file's permissions") from None


def ingest_stream(engine: Engine, stream: BinaryIO, *, filename: str,
                  options: ReadOptions | None = None, uploaded_by: str | None = None,
                  max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
                  on_progress: Callable[[int], None] | None = None) -> IngestResult:
    """Store one upload (a seekable binary stream) and its traces.

    Returns an :class:`IngestResult` for stored, duplicate and rejected uploads alike;
    a rejected upload's raw bytes are kept and ``error`` says why. Raises only for
    :class:`TooLargeError` (nothing stored) and :class:`StoreError` (database trouble).
    """
    options = options or ReadOptions()
    sha256, size = _hash(stream)
    if size > max_bytes:
        raise TooLargeError(f"{size:,} bytes is over the upload limit of {max_bytes:,}",
                            where=filename, fix="split the file or raise the limit")
    try:
        with engine.begin() as conn:
            existing = repo.upload_by_sha256(conn, sha256)
            if existing is None:
                upload_id = repo.create_upload(
                    conn, sha256=sha256, filename=filename, size_bytes=size,
                    uploaded_by=uploaded_by, timezone=options.timezone, stream=stream)
    except IntegrityError:  # the same bytes arrived concurrently
        with engine.connect() as conn:
            existing = repo.upload_by_sha256(conn, sha256)
        if existing is None:
            raise
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot store the upload ({exc.__class__.__name__}: {exc})",
                         where=filename, fix="check the database is reachable and writable"
                         ) from None
    if existing is not None and existing.status == "rejected":
        # kept but never parsed cleanly: parse again, maybe with other options (e.g.
        # --format, --timezone), if no concurrent upload of the same bytes claimed it first
        with engine.begin() as conn:
            if repo.claim_rejected(conn, existing.id):
                upload_id, existing = existing.id, None
    if existing is not None:
        return IngestResult(
            upload_id=existing.id, filename=filename, sha256=sha256, size_bytes=size,
            status="duplicate", format=existing.format, n_traces=existing.n_traces,
            n_accepted=existing.n_fixes_accepted, n_rejected=existing.n_fixes_rejected,
            n_field_stops=existing.n_field_stops, reason_counts=existing.reason_counts,
            error=existing.error)
    stream.seek(0)
    result = IngestResult(upload_id=upload_id, filename=filename, sha256=sha256,
                          size_bytes=size, status="stored")
    formats: list[str] = []
    try:
        with engine.begin() as conn:
            writer = repo.TraceWriter(conn, upload_id)
            counts: dict[str, int] = {}
            for part in read_parts(stream, source=filename, options=options,
                                   on_format=formats.append):
                writer.write(part)
                result.n_accepted += part.n_accepted()
                result.n_rejected += part.n_rejected()
                for code, n in part.reason_counts().items():
                    counts[code] = counts.get(code, 0) + n
                if on_progress is not None:
                    on_progress(stream.tell())
            result.n_traces = writer.close()
            result.n_field_stops = writer.n_field_stops
            result.reason_counts = dict(sorted(counts.items()))
            result.format = "+".join(sorted(set(formats))) or None
            if result.n_accepted == 0 and result.n_field_stops == 0 and result.n_traces == 0:
                raise InputError("no traces, fixes or stops in the file", where=filename,
                                 fix="check the export holds GPS points")
            repo.finish_upload(conn, upload_id, status="stored", fmt=result.format,
                               counts=result.reason_counts, n_traces=result.n_traces,
                               n_accepted=result.n_accepted, n_rejected=result.n_rejected,
                               n_field_stops=result.n_field_stops)
    except TransitError as error:
        if isinstance(error, StoreError):
            raise
        result = IngestResult(upload_id=upload_id, filename=filename, sha256=sha256,
                              size_bytes=size, status="rejected",
                              format="+".join(sorted(set(formats))) or None,
                              error=error.one_line())
        with engine.begin() as conn:
            repo.finish_upload(conn, upload_id, status="rejected", fmt=result.format,
                               error=result.error)
    except SQLAlchemyError as exc:
        with engine.begin() as conn:
            repo.finish_upload(conn, upload_id, status="rejected", fmt=None,
                               error=f"store failed: {exc.__class__.__name__}")
        raise StoreError(f"cannot store the traces ({exc.__class__.__name__})",
                         where=filename, fix="check the database is reachable and writable"
                         ) from None
    return result
