"""`transit ingest` and `transit traces list`: field teams' files into the store."""

from __future__ import annotations

import datetime as dt
import getpass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from gps_ingest import FORMATS
from transit.errors import InputError

if TYPE_CHECKING:
    from api.ingest import IngestResult

# Heavy modules (pandas, numba, SQLAlchemy) are imported inside the commands so that
# `transit --help` and the other commands start fast.

DbOption = Annotated[str | None, typer.Option(
    "--db", help="SQLAlchemy URL or SQLite path [env TRANSIT_DATABASE_URL; "
                 "default sqlite:///transit.sqlite]")]


def _instant(value: str | None, option: str) -> int | None:
    if value is None:
        return None
    from gps_ingest.timeparse import parse_instants

    ms, ok = parse_instants([value], timezone="UTC")
    if not ok[0]:
        raise InputError(f"{value!r} is not a date or time", where=option,
                         fix="write it as YYYY-MM-DD or an ISO 8601 instant")
    return int(ms[0])


def _summary_line(r: IngestResult) -> str:
    reasons = ", ".join(f"{k} {v:,}" for k, v in r.reason_counts.items()) or "none"
    if r.status == "rejected":
        return f"{r.filename}: REJECTED (raw bytes kept as upload {r.upload_id}): {r.error}"
    head = (f"{r.filename}: already stored as upload {r.upload_id}, nothing changed"
            if r.status == "duplicate" else f"{r.filename}: stored as upload {r.upload_id}")
    stops = f", {r.n_field_stops:,} field stops" if r.n_field_stops else ""
    return (f"{head} [{r.format}]: {r.n_traces:,} traces, {r.n_accepted:,} fixes accepted, "
            f"{r.n_rejected:,} rejected ({reasons}){stops}")


def ingest(
    files: Annotated[list[Path], typer.Argument(help="Trace files: CSV (.csv/.gz/.zip), GPX, "
                                                     "GeoJSON, TransitWand")],
    db: DbOption = None,
    fmt: Annotated[str, typer.Option("--format", help=f"One of {', '.join(FORMATS)}")] = "auto",
    timezone: Annotated[str, typer.Option(help="IANA zone of times written without one")] = "UTC",
    campaign_start: Annotated[str | None, typer.Option(
        help="Fixes before this instant are flagged outside_campaign")] = None,
    campaign_end: Annotated[str | None, typer.Option(
        help="Fixes after this instant are flagged outside_campaign")] = None,
    max_accuracy_m: Annotated[float, typer.Option(
        help="Drop fixes less accurate than this")] = 50.0,
    device_id: Annotated[str | None, typer.Option(
        help="Device id for formats that do not carry one")] = None,
    uploaded_by: Annotated[str | None, typer.Option(
        help="Who uploads (default: user name)")] = None,
) -> None:
    """Read, clean and store trace files; print per file what was accepted and rejected.

    Exit 0 when every readable file was stored, 2 when a file was unusable (its raw bytes
    are kept anyway).
    """
    from api.ingest import ingest_file
    from api.store.db import open_store
    from gps_ingest.clean import CleanOptions
    from gps_ingest.pipeline import ReadOptions

    options = ReadOptions(
        format=fmt, timezone=timezone, device_id=device_id,
        clean=CleanOptions(max_accuracy_m=max_accuracy_m,
                           campaign_start_ms=_instant(campaign_start, "--campaign-start"),
                           campaign_end_ms=_instant(campaign_end, "--campaign-end")))
    engine = open_store(db)
    console = Console(stderr=True)
    who = uploaded_by or getpass.getuser()
    failed = 0
    try:
        for path in files:
            size = path.stat().st_size if path.is_file() else 0
            with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                          TimeRemainingColumn(), console=console, transient=True,
                          disable=size < 8 << 20) as progress:
                task = progress.add_task(path.name, total=size)
                def advance(n: int, task: TaskID = task) -> None:
                    progress.update(task, completed=n)

                try:
                    result = ingest_file(engine, path, options=options, uploaded_by=who,
                                         on_progress=advance)
                except InputError as error:  # this file only: go on with the others
                    typer.echo(f"error: {error.one_line()}", err=True)
                    failed += 1
                    continue
            typer.echo(_summary_line(result))
            failed += not result.ok
    finally:
        engine.dispose()
    if failed:
        raise typer.Exit(2)


def traces_list(
    db: DbOption = None,
    upload: Annotated[int | None, typer.Option(help="Only this upload's traces")] = None,
    uploads: Annotated[bool, typer.Option("--uploads", help="List uploads instead")] = False,
) -> None:
    """Show what is stored: traces (key, device, route, fixes, segments, time span)."""
    from api.store import uploads as repo
    from api.store.db import open_store

    engine = open_store(db)
    console = Console()
    try:
        with engine.connect() as conn:
            if uploads:
                table = Table("upload", "file", "format", "status", "traces", "accepted",
                              "rejected", "uploaded")
                for u in repo.list_uploads(conn):
                    table.add_row(str(u.id), u.filename, u.format or "", u.status,
                                  f"{u.n_traces:,}", f"{u.n_fixes_accepted:,}",
                                  f"{u.n_fixes_rejected:,}", f"{u.uploaded_at:%Y-%m-%d %H:%M}")
                console.print(table)
                return
            if upload is not None:
                repo.get_upload(conn, upload)
            rows = repo.list_traces(conn, upload_id=upload)
    finally:
        engine.dispose()
    table = Table("upload", "trace", "device", "route", "dir", "fixes", "accepted", "segments",
                  "start (UTC)", "end (UTC)", title=f"{len(rows):,} stored traces")

    def when(ms: int | None) -> str:
        if ms is None:
            return ""
        return f"{dt.datetime.fromtimestamp(ms / 1000, dt.UTC):%Y-%m-%d %H:%M}"

    for t in rows:
        table.add_row(str(t.upload_id), t.trace_key, t.device_id or "", t.route_name or "",
                      t.direction or "", f"{t.n_fixes:,}", f"{t.n_accepted:,}",
                      str(t.n_segments), when(t.start_ms), when(t.end_ms))
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add `ingest` and `traces list` to the CLI."""
    app.command()(ingest)
    traces_app = typer.Typer(help="Inspect stored traces.", no_args_is_help=True)
    traces_app.command("list")(traces_list)
    app.add_typer(traces_app, name="traces")
