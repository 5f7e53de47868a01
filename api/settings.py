"""Service configuration (pydantic-settings): every field is an env var ``TRANSIT_<NAME>``.

E.g. ``TRANSIT_DATABASE_URL=postgresql+psycopg://u@host/db``,
``TRANSIT_PUBLIC_QUERIES=true``, ``TRANSIT_MAX_UPLOAD_BYTES=104857600``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """How the service runs. Defaults suit one machine with a SQLite file."""

    model_config = SettingsConfigDict(env_prefix="TRANSIT_", extra="ignore")

    database_url: str | None = Field(default=
        None, description="SQLAlchemy URL or SQLite path of the store "
                          "(default sqlite:///transit.sqlite)")
    data_dir: Path = Field(default=Path("transit-data"),
                           description="Folder for caches (timetables of published feeds)")
    max_upload_bytes: int = Field(default=256 * 1024**2, gt=0,
                                  description="Largest accepted upload (bytes)")
    public_feeds: bool = Field(default=True, description="GET /feeds* without a key")
    public_queries: bool = Field(default=False, description="Journeys, isochrones, accessibility "
                                                    "and equity without a key")
    timezone: str = Field(default="UTC", description="Default IANA zone of uploads and builds")
    service_date: dt.date | None = Field(default=
        None, description="Day routed on when a query gives none (default: today if the "
                          "feed runs today, else its first service day)")
    draws: int = Field(default=5, ge=1, le=50, description="Monte Carlo draws per journey query")
    max_window_min: int = Field(default=180, ge=0, description="Longest departure window (minutes)")
    run_jobs: bool = Field(default=True, description="Run build jobs in this process")
    key_cache_s: float = Field(default=30.0, ge=0,
                               description="How long a checked key is trusted (s)")
