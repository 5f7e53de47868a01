"""Request and response models of the HTTP API (apart from the database tables).

Raw traces and device ids appear only in the admin-only models (:class:`TraceOut`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

__all__ = [
    "BuildOut", "BuildRequest", "DistrictsOut", "FeedOut", "JourneyOut", "KeyCreate",
    "KeyCreated", "KeyOut", "LegOut", "RejectedRow", "TraceOut", "UploadOut", "utc",
]


def utc(moment: dt.datetime | None) -> dt.datetime | None:
    """``moment`` as an aware UTC datetime (SQLite hands back naive ones)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)


class RejectedRow(BaseModel):
    """A row of an upload that was not stored, and why."""

    location: str = Field(description="File, line or feature of the row")
    reason: str = Field(description="Reason code (see the README's cleaning codes)")
    detail: str


class UploadOut(BaseModel):
    """An upload: its counts and the rows it rejected (no device ids, no fixes)."""

    id: int
    sha256: str
    filename: str
    format: str | None
    size_bytes: int
    status: str = Field(description="stored | duplicate (same bytes as an earlier upload) "
                                    "| rejected | receiving")
    uploaded_at: dt.datetime | None = None
    n_traces: int
    n_fixes_accepted: int
    n_fixes_rejected: int
    n_field_stops: int
    reason_counts: dict[str, int] = Field(description="Fixes flagged, per reason code")
    error: str | None = None
    rejections: list[RejectedRow] = Field(default_factory=list,
                                          description="First rejected rows (up to 100)")


class TraceOut(BaseModel):
    """A stored trace with its device id (admin only)."""

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
    start_ms: int | None = Field(description="First kept fix, UTC ms since the epoch")
    end_ms: int | None = Field(description="Last kept fix, UTC ms since the epoch")


class BuildRequest(BaseModel):
    """Options of a build (all optional)."""

    model_config = {"extra": "forbid"}

    timezone: str | None = Field(default=None, max_length=64,
                                 description="IANA zone of the service area (default: the "
                                             "service's TRANSIT_TIMEZONE)")
    agency_name: str = Field(default="Informal transit", min_length=1, max_length=200)
    agency_url: str = Field(default="https://example.org/transit", min_length=1, max_length=500)
    field_stops: bool = Field(default=True, description="Use hand-marked stops as evidence")
    hail_and_ride: bool = Field(default=False, description="Mark routes continuous_pickup/"
                                                   "drop_off=0")


class BuildOut(BaseModel):
    """A build job: status, progress, and when done its report and findings."""

    id: int
    status: Literal["queued", "running", "succeeded", "failed"]
    stage: str
    progress: float = Field(description="0..1")
    options: dict[str, Any]
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    upload_ids: list[int] | None = Field(description="Uploads the build read (one snapshot)")
    n_fixes: int | None = Field(description="Fixes the build read")
    report: dict[str, Any] | None = Field(description="The build report (see transit build)")
    findings: list[dict[str, str]] | None = Field(description="Validation findings")
    error: str | None
    feed_version: int | None = Field(description="Version published by this build")

    _utc = field_validator("created_at", "started_at", "finished_at")(utc)


class FeedOut(BaseModel):
    """A published feed version."""

    version: int
    sha256: str
    feed_version: str | None = Field(description="feed_info.txt feed_version")
    created_at: dt.datetime
    size_bytes: int
    build_id: int | None
    source: str
    url: str


class LegOut(BaseModel):
    """One leg of a journey; clock times ``HH:MM:SS`` of the service day."""

    kind: Literal["walk", "ride"]
    from_stop_id: str
    from_name: str
    to_stop_id: str
    to_name: str
    depart: str
    arrive: str
    duration_s: int
    text: str
    route: str | None = None
    trip_id: str | None = None
    headway_s: int | None = None
    distance_m: float | None = None


class JourneyOut(BaseModel):
    """Door-to-door travel time percentiles (s) over the window and one itinerary."""

    feed_version: int
    service_date: dt.date
    travel_time_s: dict[str, int] = Field(description="p10, p25, p50, p75, p90 (s)")
    transfers: int
    itinerary: list[LegOut]
    walk_only_s: int
    samples: int
    depart: str
    window_s: int
    draws: int


class KeyCreate(BaseModel):
    """A key to create."""

    model_config = {"extra": "forbid"}

    role: Literal["field", "planner", "admin"]
    name: str | None = Field(default=None, max_length=128)


class KeyOut(BaseModel):
    """A stored key (never its secret)."""

    id: int
    prefix: str
    role: str
    name: str | None
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    _utc = field_validator("created_at", "revoked_at")(utc)


class KeyCreated(KeyOut):
    """A new key: ``key`` is shown this once only."""

    key: str


class DistrictsOut(BaseModel):
    """An accessibility run over uploaded districts: status, parameters, notes."""

    id: int
    status: Literal["queued", "running", "succeeded", "failed"]
    stage: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    feed_version: int | None = Field(description="Feed version the run routed on")
    params: dict[str, Any]
    notes: list[str] | None
    error: str | None
    accessibility_url: str
    equity_url: str

    _utc = field_validator("created_at", "finished_at")(utc)
