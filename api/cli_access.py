"""`transit access`: accessibility and equity by district, with a progress bar."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from api.access_pipeline import AccessRequest, run_access
from api.access_run import Backend
from transit.access import AccessSpec
from transit.errors import InputError
from transit.gtfs_time import parse_clock_s

_console = Console(stderr=True)

_STAGES = {"feed": "reading the feed, building the timetable",
           "inputs": "reading districts and opportunities",
           "origins": "laying origins, walks to opportunities",
           "measure": "routing from every origin", "report": "writing the report",
           "done": "done"}


def _minutes(text: str) -> tuple[int, ...]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"cannot read minutes {text!r}", where="--minutes",
                         fix="give minutes separated by commas, e.g. 30,45,60") from None
    if not values:
        raise InputError("no thresholds", where="--minutes", fix="give e.g. 30,45,60")
    if any(v <= 0 for v in values):
        raise InputError(f"thresholds must be positive, got {text}", where="--minutes",
                         fix="give minutes above zero, e.g. 30,45,60")
    return tuple(round(v * 60) for v in values)


def _date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"cannot read the date {text!r}", where="--date",
                         fix="write it as YYYY-MM-DD") from None


def access(
    feed: Annotated[Path, typer.Argument(help="GTFS zip or folder")],
    districts: Annotated[Path, typer.Option(help="District polygons (GeoJSON, any CRS)")],
    population_field: Annotated[str, typer.Option(help="District property with residents")],
    opportunities: Annotated[list[Path], typer.Option(
        help="Opportunity points, CSV (lat/lon) or GeoJSON; repeat for more files")],
    out: Annotated[Path, typer.Option(help="Folder for the report")],
    name_field: Annotated[str | None, typer.Option(help="District property with its name")
                          ] = None,
    category_field: Annotated[str | None, typer.Option(
        help="Split opportunity files into categories by this field (default: one "
             "category per file, named after it)")] = None,
    select: Annotated[list[str] | None, typer.Option(
        help="Extra category NAME=FIELD:V1|V2, e.g. hospital=Facility_type_category:HOSPITALS"
    )] = None,
    hospital_category: Annotated[str, typer.Option(
        help="Category counted for 'residents beyond 60 min of a hospital'")] = "hospital",
    depart: Annotated[str, typer.Option(help="First departure, HH:MM")] = "07:00",
    window: Annotated[float, typer.Option(help="Departure window, minutes")] = 60,
    draws: Annotated[int, typer.Option(help="Monte Carlo draws of headway offsets")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of the draws")] = 0,
    minutes: Annotated[str, typer.Option(help="Travel-time thresholds, minutes")] = "30,45,60",
    percentile: Annotated[int, typer.Option(help="Percentile of travel time (50 = median)")
                          ] = 50,
    spacing: Annotated[float, typer.Option(help="Origin grid spacing, metres")] = 250,
    beyond: Annotated[float, typer.Option(help="Count residents beyond this many minutes "
                                                "of the nearest of each category")] = 60,
    on_date: Annotated[str | None, typer.Option(
        "--date", help="Service day YYYY-MM-DD (default: the feed's first weekday)")] = None,
    crs: Annotated[str | None, typer.Option(
        help="CRS of files that do not name theirs, e.g. EPSG:32737")] = None,
    workers: Annotated[int, typer.Option(help="Parallel workers")] = 2,
    backend: Annotated[str, typer.Option(
        help="threads (this process), processes, or dask (a LocalCluster, or --scheduler)")
                       ] = "threads",
    scheduler: Annotated[str | None, typer.Option(
        help="Dask scheduler tcp://HOST:PORT (implies --backend dask)")] = None,
) -> None:
    """Accessibility and equity by district: opportunities within thresholds, nearest
    facility times, walk-only comparison, Gini/Palma, underserved districts; writes
    districts.csv, districts.geojson, equity.json, maps and report.md into --out."""
    if backend not in ("threads", "processes", "dask"):
        raise InputError(f"unknown backend {backend!r}", where="--backend",
                         fix="use threads, processes or dask")
    chosen: Backend = "dask" if backend == "dask" else (
        "processes" if backend == "processes" else "threads")
    spec = AccessSpec(depart_s=parse_clock_s(depart), window_s=round(window * 60),
                      draws=draws, seed=seed, thresholds_s=_minutes(minutes),
                      percentile=percentile)
    req = AccessRequest(feed=feed, districts=districts, population_field=population_field,
                        opportunities=tuple(opportunities), spec=spec, name_field=name_field,
                        category_field=category_field, selects=tuple(select or ()), crs=crs,
                        service_date=_date(on_date), spacing_m=spacing, beyond_min=beyond,
                        hospital_category=hospital_category, backend=chosen, workers=workers,
                        scheduler=scheduler, out=out)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=_console, transient=False) as progress:
        task = progress.add_task(_STAGES["feed"], total=None)

        def on_stage(name: str) -> None:
            progress.update(task, description=_STAGES.get(name, name))

        def on_origins(n: int) -> None:
            progress.update(task, total=n, completed=0)

        result = run_access(req, on_stage=on_stage, on_origins=on_origins,
                            on_progress=lambda k: progress.advance(task, k))
    for note in result.notes:
        _console.print(f"[yellow]note:[/yellow] {note}")
    t = result.timings_s
    _console.print(f"{result.origins.size} origins in {len(result.districts.names)} districts; "
                   f"routing {t.get('measure', 0):.1f} s on {result.ran_on}; "
                   f"total {sum(t.values()):.1f} s")
    for path in result.files:
        typer.echo(str(path))


def register(app: typer.Typer) -> None:
    """Add ``transit access`` to the CLI."""
    app.command("access")(access)
