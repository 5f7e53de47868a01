"""`transit journey` and `transit isochrone`: frequency-aware travel times from a GTFS feed.

The timetable of a (feed, day) is cached on disk keyed by the feed's sha256
(:mod:`gtfs_out.timetable_cache`), so the second run starts in a fraction of a second.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from transit.errors import InputError

if TYPE_CHECKING:
    from transit.timetable import Timetable

# Heavy modules (numpy, numba, pandas) are imported inside the commands so that
# `transit --help` starts fast.

FeedArg = Annotated[Path, typer.Argument(help="GTFS feed: a .zip or a folder of .txt files")]
FromOpt = Annotated[str, typer.Option("--from", help="Origin as LAT,LON (WGS84 degrees)")]
DepartOpt = Annotated[str, typer.Option(
    "--depart", help="First departure, HH:MM[:SS] on the service day (25:10 = 01:10 next "
                     "morning)")]
WindowOpt = Annotated[int, typer.Option(
    "--window", min=0, help="Departure window in minutes: one departure per minute")]
DrawsOpt = Annotated[int, typer.Option(
    "--draws", min=1, help="Monte Carlo draws of headway offsets (frequency-based service)")]
DateOpt = Annotated[str | None, typer.Option(
    "--date", help="Service date YYYY-MM-DD [default: the feed's first weekday of service]")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the random offsets")]
CacheOpt = Annotated[bool, typer.Option(
    "--cache/--no-cache", help="Read/write the timetable cache [$TRANSIT_CACHE_DIR or "
                               "./.transit-cache]")]


def parse_point(text: str, option: str) -> tuple[float, float]:
    """``"LAT,LON"`` -> ``(lat, lon)``; :class:`InputError` when malformed."""
    from transit.geo import parse_latlon

    return parse_latlon(text, option)


def _service_date(feed: Path, text: str | None) -> dt.date:
    if text is not None:
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise InputError(f"'{text}' is not a date", where="--date",
                             fix="write YYYY-MM-DD, e.g. 2019-11-05") from None
    from gtfs_out.read import read_feed
    from transit.gtfs_time import service_dates

    days = service_dates(read_feed(feed))
    if not days:
        raise InputError("the feed has no day of service", where=str(feed),
                         fix="add calendar.txt or calendar_dates.txt entries")
    weekdays = [d for d in days if d.weekday() < 5]
    day = (weekdays or days)[0]
    typer.echo(f"note: no --date given; using {day.isoformat()}", err=True)
    return day


def load(feed: Path, date: str | None, cache: bool) -> Timetable:
    """The feed's timetable on the asked (or default) service day."""
    from gtfs_out.timetable_cache import load_timetable

    tt, _ = load_timetable(feed, _service_date(feed, date), use_cache=cache)
    return tt


def journey(
    feed: FeedArg,
    origin: FromOpt,
    destination: Annotated[str, typer.Option("--to", help="Destination as LAT,LON")],
    depart: DepartOpt = "07:30",
    window: WindowOpt = 60,
    draws: DrawsOpt = 5,
    date: DateOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    seed: SeedOpt = 0,
    cache: CacheOpt = True,
) -> None:
    """Door-to-door travel-time percentiles and a readable itinerary."""
    from transit.gtfs_time import parse_clock_s
    from transit.journeys import clock_text, plan_journey

    start = parse_point(origin, "--from")
    end = parse_point(destination, "--to")
    depart_s = parse_clock_s(depart)
    tt = load(feed, date, cache)
    result = plan_journey(tt, start, end, depart_s, window_s=window * 60, draws=draws,
                          seed=seed)
    if as_json:
        out = {"from": list(start), "to": list(end), "date": tt.service_date.isoformat(),
               **result.as_dict()}
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    p = result.travel_time_s
    last = clock_text(depart_s + max(window * 60 - 60, 0))
    typer.echo(f"{tt.service_date.isoformat()}, departing {clock_text(depart_s)}-{last}: "
               f"{result.samples_s.size} samples ({window or 1} departure(s) x "
               f"{result.draws} draw(s))")
    typer.echo("travel time: " + ", ".join(f"{k} {v / 60:.1f} min" for k, v in p.items()))
    typer.echo(f"walking all the way: {result.walk_only_s / 60:.1f} min")
    typer.echo(f"typical journey (the median sample, {result.transfers} transfer(s)):")
    for i, leg in enumerate(result.itinerary, 1):
        typer.echo(f"  {i}. {leg.text()}")


def isochrone(
    feed: FeedArg,
    origin: FromOpt,
    out: Annotated[Path, typer.Option("--out", help="GeoJSON file to write")],
    depart: DepartOpt = "07:30",
    minutes: Annotated[str, typer.Option(
        "--minutes", help="Thresholds in minutes, comma-separated")] = "15,30,45,60",
    window: WindowOpt = 60,
    draws: DrawsOpt = 5,
    percentile: Annotated[float, typer.Option(
        "--percentile", min=0, max=100, help="Percentile of travel time per place")] = 50,
    date: DateOpt = None,
    seed: SeedOpt = 0,
    cache: CacheOpt = True,
) -> None:
    """Areas reachable within each threshold (polygons, GeoJSON)."""
    from rich.progress import Progress

    from transit.gtfs_time import parse_clock_s
    from transit.isochrone import build_isochrones, isochrone_features, stop_percentile_s
    from transit.journeys import clock_text
    from transit.one_to_all import check_in_area, travel_times_to_stops
    from transit.raptor import RaptorState

    start = parse_point(origin, "--from")
    try:
        limits = [int(m) for m in minutes.split(",") if m.strip()]
    except ValueError:
        raise InputError(f"'{minutes}' is not a list of minutes", where="--minutes",
                         fix="write e.g. 15,30,45,60") from None
    depart_s = parse_clock_s(depart)
    tt = load(feed, date, cache)
    check_in_area(tt, *start, what="origin")
    with Progress(transient=True, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task("routing", total=2)
        samples = travel_times_to_stops(tt, RaptorState(tt), *start, depart_s, window * 60,
                                        draws, seed,
                                        max_duration_s=60 * max(limits) if limits else None)
        bar.advance(task)
        polygons = build_isochrones(tt, *start, stop_percentile_s(samples, percentile), limits)
        bar.advance(task)
    props = {"percentile": percentile, "depart": clock_text(depart_s), "window_min": window,
             "draws": draws, "date": tt.service_date.isoformat(),
             "origin": [start[0], start[1]]}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(isochrone_features(polygons, props)), encoding="utf-8")
    typer.echo(f"wrote {len(polygons)} isochrone(s) to {out}")


def register(app: typer.Typer) -> None:
    """Add ``journey`` and ``isochrone`` to the ``transit`` app."""
    app.command("journey")(journey)
    app.command("isochrone")(isochrone)
