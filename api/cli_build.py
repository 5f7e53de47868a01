"""`transit build`: stored or given traces -> a GTFS feed and its build report."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from transit.errors import InputError

if TYPE_CHECKING:
    from transit.traces import TripSegment

# Heavy modules (numba, scikit-learn, SQLAlchemy) are imported inside the command so that
# `transit --help` starts fast.


def _check_writable(path: Path, option: str) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InputError("is a folder", where=f"{option} {path}", fix="give a file name")
    if not folder.is_dir():
        raise InputError("the folder does not exist", where=f"{option} {path}",
                         fix=f"create {folder} first or write elsewhere")
    if not os.access(folder, os.W_OK):
        raise InputError("the folder is not writable", where=f"{option} {path}",
                         fix="write somewhere you may write")


def write_json_atomic(data: Any, path: Path) -> None:
    """Write ``data`` as sorted, indented JSON; readers never see a half-written file."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=path.parent or Path("."))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True, ensure_ascii=False)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_segments(db: str | None, traces: list[Path] | None, timezone: str,
                  field_stops: bool) -> list[TripSegment]:
    """Trip segments from the store (``db``) or from trace files (read and cleaned)."""
    from dataclasses import replace

    if traces:
        from gps_ingest.csvfile import merge_tracesets
        from gps_ingest.pipeline import ReadOptions, read_traces, rekey

        options = ReadOptions(timezone=timezone)
        parts = [read_traces(p, options=options) for p in traces]
        if len(parts) > 1:  # keys are unique per file only
            parts = [rekey(ts, f"{p.name}:") for ts, p in zip(parts, traces, strict=True)]
        traceset = merge_tracesets(parts) if len(parts) > 1 else parts[0]
    else:
        from api.store.db import open_store
        from api.store.uploads import load_traceset

        engine = open_store(db)
        try:
            with engine.connect() as conn:
                traceset = load_traceset(conn)
        finally:
            engine.dispose()
    segments = list(traceset.iter_segments())
    if not field_stops:
        segments = [replace(s, field_stops=()) for s in segments]
    return segments


def build(
    out: Annotated[Path, typer.Option("--out", help="GTFS zip to write (atomically)")],
    traces: Annotated[list[Path] | None, typer.Option(
        "--traces", help="Trace files to build from (instead of the store); repeatable")] = None,
    db: Annotated[str | None, typer.Option(
        "--db", help="SQLAlchemy URL or SQLite path of the store [env TRANSIT_DATABASE_URL; "
                     "default sqlite:///transit.sqlite]")] = None,
    timezone: Annotated[str, typer.Option(
        help="IANA zone of the service area (time bands are local)")] = "UTC",
    agency_name: Annotated[str, typer.Option(help="agency_name of the feed")] =
        "Informal transit",
    agency_url: Annotated[str, typer.Option(help="agency_url of the feed")] =
        "https://example.org/transit",
    frequencies: Annotated[Path | None, typer.Option(
        help="CSV of headways: route, band (or start_time,end_time), headway_s")] = None,
    report: Annotated[Path | None, typer.Option(
        help="Build report JSON to write [default: next to --out, .report.json]")] = None,
    field_stops: Annotated[bool, typer.Option(
        "--field-stops/--no-field-stops",
        help="Use hand-marked stops as evidence (off: detection alone)")] = True,
    hail_and_ride: Annotated[bool, typer.Option(
        help="Mark routes continuous_pickup/drop_off=0 (stop anywhere along the shape)")] =
        False,
) -> None:
    """Infer stops, routes, run times and headways from traces; write a GTFS feed + report.

    Prints a readable summary of the report (what each route rests on, what was assumed,
    which routes need another ride). Exit 2 on unusable input; nothing half-written is left.
    """
    from gps_ingest.timeparse import check_timezone
    from gtfs_out.write import write_feed
    from transit.build import BuildOptions, build_network
    from transit.model import DEFAULT_TIME_BANDS
    from transit.report import format_report
    from transit.timing import FrequencyRow, parse_frequencies

    if traces and db:
        raise InputError("give either --db or --traces, not both", where="transit build",
                         fix="build from the store (--db) or from files (--traces)")
    check_timezone(timezone)
    report_path = report or out.with_name(out.stem + ".report.json")
    _check_writable(out, "--out")
    _check_writable(report_path, "--report")
    rows: tuple[FrequencyRow, ...] = ()
    if frequencies is not None:
        try:
            text = frequencies.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read ({exc.__class__.__name__})",
                             where=str(frequencies), fix="give a UTF-8 CSV file") from None
        rows = tuple(parse_frequencies(text, DEFAULT_TIME_BANDS, source=frequencies.name))
    console = Console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("loading traces", total=None)
        segments = load_segments(db, traces, timezone, field_stops)
        progress.update(task, description=f"building from {len(segments):,} trip segments")
        result = build_network(segments, BuildOptions(
            timezone=timezone, agency_name=agency_name, agency_url=agency_url,
            use_field_stops=field_stops, frequencies=rows,
            continuous_pickup=0 if hail_and_ride else None,
            continuous_drop_off=0 if hail_and_ride else None))
        progress.update(task, description="writing the feed")
        write_feed(result.network, out)
        write_json_atomic(result.report, report_path)
    typer.echo(format_report(result.report))
    typer.echo(f"feed: {out}\nreport: {report_path}")


def register(app: typer.Typer) -> None:
    """Add ``transit build`` to the CLI."""
    app.command("build")(build)
