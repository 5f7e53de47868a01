"""Field teams: ``POST /uploads`` (any supported format), ``POST /upload`` (the TransitWand
capture app's form), ``GET /uploads/{id}``; admins also list uploads, read traces with
device ids and download the raw bytes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Response, UploadFile
from fastapi import Path as FastApiPath
from fastapi.responses import StreamingResponse
from sqlalchemy import Engine

from api.deps import (
    AdminCaller,
    Caller,
    EngineDep,
    FieldCaller,
    RowId,
    ServicesDep,
    SettingsDep,
    check_key,
    check_zone,
)
from api.deps import require_with_query_key as _query_key
from api.ingest import IngestResult, ingest_stream
from api.problems import PROBLEM_JSON, problem_response
from api.schemas import RejectedRow, TraceOut, UploadOut, utc
from api.settings import Settings
from api.store import uploads as repo
from gps_ingest.pipeline import FORMATS, ReadOptions
from transit.errors import InputError

router = APIRouter(tags=["uploads"])

_PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"content": {PROBLEM_JSON: {}}, "description": text} for code, text in (
        (400, "Bad option"), (401, "No or unknown key"), (403, "Wrong role"),
        (413, "Too large"), (422, "Unreadable file (the raw bytes are kept)"))}


def _out(engine: Engine, upload_id: int, status: str | None = None) -> UploadOut:
    with engine.connect() as conn:
        record = repo.get_upload(conn, upload_id)
        rows = repo.rejection_rows(conn, upload_id)
    return UploadOut(
        id=record.id, sha256=record.sha256, filename=record.filename, format=record.format,
        size_bytes=record.size_bytes, status=status or record.status,
        uploaded_at=utc(record.uploaded_at), n_traces=record.n_traces,
        n_fixes_accepted=record.n_fixes_accepted, n_fixes_rejected=record.n_fixes_rejected,
        n_field_stops=record.n_field_stops, reason_counts=record.reason_counts,
        error=record.error,
        rejections=[RejectedRow(location=loc, reason=code, detail=detail)
                    for loc, code, detail in rows])


def _answer(engine: Engine, result: IngestResult, response: Response) -> Any:
    if result.upload_id is None or result.status == "rejected":
        return problem_response(
            422, "Unreadable upload", result.error or "the file holds no usable traces",
            type_="/problems/format", upload_id=result.upload_id, sha256=result.sha256,
            fix="check the file's format; the raw bytes are kept for re-processing")
    response.status_code = 201 if result.status == "stored" else 200
    return _out(engine, result.upload_id, result.status)


@router.post("/uploads", response_model=UploadOut, status_code=201, responses={
    200: {"model": UploadOut, "description": "The same bytes were uploaded before"},
    **_PROBLEMS})
def create_upload(
    engine: EngineDep, settings: SettingsDep, caller: FieldCaller, response: Response,
    file: Annotated[UploadFile, File(description="Trace file: CSV, GPX, GeoJSON, TransitWand "
                                                 "protobuf, or a zip/gzip of them")],
    format: Annotated[str, Form(description=f"One of {', '.join(FORMATS)}",
                                max_length=32)] = "auto",
    timezone: Annotated[str | None, Form(description="IANA zone of local times in the file",
                                         max_length=64)] = None,
) -> Any:
    """Store a trace file: idempotent by content (the same bytes give the same upload).

    201 when stored, 200 when the same bytes were stored before, 422 (problem) when the
    file cannot be read (its raw bytes are kept).
    """
    options = ReadOptions(format=format, timezone=check_zone(timezone or settings.timezone))
    result = ingest_stream(engine, file.file, filename=(file.filename or "upload")[:200],
                           options=options, uploaded_by=caller.prefix,
                           max_bytes=settings.max_upload_bytes)
    return _answer(engine, result, response)


@router.post("/upload", response_model=UploadOut, status_code=201, responses={
    200: {"model": UploadOut, "description": "The same bytes were uploaded before"},
    **_PROBLEMS})
def transitwand_upload(
    engine: EngineDep, settings: SettingsDep, response: Response,
    caller: Annotated[Caller, Depends(_query_key("field"))],
    imei: Annotated[str, Form(max_length=64, description="The phone's IMEI or Android ID")],
    data: Annotated[UploadFile, File(description="Serialized TransitWand Upload message")],
) -> Any:
    """The TransitWand capture app's upload (form fields ``imei`` and ``data``).

    The key comes in ``X-API-Key`` or ``?api_key=``; the IMEI becomes the traces' device
    id (shown to admins only). The app deletes its files on any 2xx answer, so only a
    stored (or already stored) capture gets one.
    """
    return _transitwand(engine, settings, caller, imei, data, response)


@router.post("/k/{api_key}/upload", response_model=UploadOut, status_code=201, responses={
    200: {"model": UploadOut, "description": "The same bytes were uploaded before"},
    **_PROBLEMS})
def transitwand_upload_keyed(
    services: ServicesDep, response: Response,
    api_key: Annotated[str, FastApiPath(max_length=200, description="A field key")],
    imei: Annotated[str, Form(max_length=64, description="The phone's IMEI or Android ID")],
    data: Annotated[UploadFile, File(description="Serialized TransitWand Upload message")],
) -> Any:
    """As ``POST /upload``, with the key in the path: set the app's server address
    (``URL_BASE``) to ``https://HOST/k/KEY/`` and it posts here unchanged."""
    caller = check_key(services, api_key, ("field",))
    return _transitwand(services.engine, services.settings, caller, imei, data, response)


def _transitwand(engine: Engine, settings: Settings, caller: Caller, imei: str,
                 data: UploadFile, response: Response) -> Any:
    device = imei.strip()
    if not device:
        raise InputError("the 'imei' form field is empty", where="TransitWand upload",
                         fix="send the phone's IMEI (or Android ID) in the 'imei' field")
    options = ReadOptions(format="transitwand", timezone=settings.timezone, device_id=device)
    result = ingest_stream(engine, data.file, filename="transitwand-upload.pb",
                           options=options, uploaded_by=caller.prefix,
                           max_bytes=settings.max_upload_bytes)
    return _answer(engine, result, response)


@router.get("/uploads", response_model=list[UploadOut])
def list_uploads(engine: EngineDep, caller: AdminCaller) -> list[UploadOut]:
    """Every upload, oldest first (admin)."""
    with engine.connect() as conn:
        ids = [u.id for u in repo.list_uploads(conn)]
    return [_out(engine, i) for i in ids]


@router.get("/uploads/{upload_id}", response_model=UploadOut,
            responses={404: {"content": {PROBLEM_JSON: {}}, "description": "No such upload"}})
def get_upload(upload_id: RowId, engine: EngineDep, caller: FieldCaller) -> UploadOut:
    """One upload's status, counts and rejected rows."""
    return _out(engine, upload_id)


@router.get("/uploads/{upload_id}/traces", response_model=list[TraceOut])
def upload_traces(upload_id: RowId, engine: EngineDep, caller: AdminCaller) -> list[TraceOut]:
    """The traces of an upload with their device ids (admin only)."""
    with engine.connect() as conn:
        repo.get_upload(conn, upload_id)
        rows = repo.list_traces(conn, upload_id=upload_id)
    return [TraceOut(**{f: getattr(t, f) for f in TraceOut.model_fields}) for t in rows]


@router.get("/uploads/{upload_id}/raw", response_class=StreamingResponse,
            responses={200: {"content": {"application/octet-stream": {}}}})
def upload_raw(upload_id: RowId, engine: EngineDep, caller: AdminCaller) -> StreamingResponse:
    """The raw bytes of an upload, as received (admin only: they are personal data)."""
    with engine.connect() as conn:
        record = repo.get_upload(conn, upload_id)

    def chunks() -> Iterator[bytes]:
        with engine.connect() as conn:
            yield from repo.iter_raw_bytes(conn, upload_id)

    name = record.filename.encode("ascii", "replace").decode().replace('"', "")
    return StreamingResponse(chunks(), media_type="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "Content-Length": str(record.size_bytes)})
