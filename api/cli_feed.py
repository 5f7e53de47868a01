"""`transit validate`, `transit simulate` and `transit evaluate`: feeds out and back."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gtfs_out.findings import Finding, count_by_severity
from gtfs_out.independent import TOOLS, Tool, validate_independent
from gtfs_out.network_read import read_network
from gtfs_out.simulate_io import simulate_feed
from gtfs_out.validate import EXIT_ERRORS, EXIT_OK, validate_feed
from transit.errors import InputError
from transit.evaluate import evaluate_network
from transit.simulate import SimConfig

_console = Console()


def _findings_table(findings: list[Finding], title: str) -> Table:
    table = Table(title=title, show_lines=False)
    for col in ("severity", "code", "count", "first file", "first entity", "field", "value"):
        table.add_column(col)
    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.severity, f.code), []).append(f)
    for (severity, code), items in groups.items():
        first = items[0]
        style = {"error": "red", "warning": "yellow"}.get(severity, "")
        table.add_row(f"[{style}]{severity}[/{style}]" if style else severity, code,
                      str(len(items)), first.file, first.entity_id, first.field,
                      first.value[:40])
    return table


def validate(
    feed: Annotated[Path, typer.Argument(help="GTFS zip or folder")],
    as_json: Annotated[bool, typer.Option("--json", help="Print findings as JSON")] = False,
    independent: Annotated[bool, typer.Option(
        "--independent", help="Also run an independent validator (see --tool)")] = False,
    tool: Annotated[str, typer.Option(help=f"Independent validator: {' or '.join(TOOLS)}")
                    ] = "gtfs-guru",
    on_date: Annotated[str | None, typer.Option(
        "--date", help="Validation date YYYY-MM-DD for the independent validator")] = None,
) -> None:
    """Check a GTFS feed: exit 0 when no errors, 1 when errors, 2 when unusable."""
    if tool not in TOOLS:
        raise InputError(f"unknown validator {tool!r}", where="--tool",
                         fix=f"use one of {', '.join(TOOLS)}")
    findings = validate_feed(feed)
    if independent:
        chosen: Tool = "gtfs-validator" if tool == "gtfs-validator" else "gtfs-guru"
        findings = sorted(findings + validate_independent(feed, tool=chosen, date=on_date),
                          key=Finding.sort_key)
    counts = count_by_severity(findings)
    if as_json:
        typer.echo(json.dumps({"feed": str(feed), "counts": counts,
                               "findings": [f.to_dict() for f in findings]}, indent=1))
    else:
        if findings:
            _console.print(_findings_table(findings, f"findings for {feed}"))
        typer.echo(f"{feed}: {counts['error']} errors, {counts['warning']} warnings, "
                   f"{counts['info']} infos"
                   + (f" (own rules + {tool})" if independent else " (own rules)"))
    raise typer.Exit(EXIT_ERRORS if counts["error"] else EXIT_OK)


def _parse_date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise InputError(f"{text!r} is not a date", where="--date",
                         fix="write it as YYYY-MM-DD") from None


def _span(text: str, option: str, minimum: float) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"{text!r} is not a range", where=option,
                         fix="write two numbers: LOW,HIGH (e.g. 1,15)") from None
    if not minimum <= low <= high:
        raise InputError(f"{text!r} is not a range from {minimum:g} up", where=option,
                         fix="write LOW,HIGH with LOW <= HIGH")
    return low, high


def simulate(
    feed: Annotated[Path, typer.Argument(help="GTFS zip or folder with shapes (e.g. Nairobi)")],
    out: Annotated[Path, typer.Option("--out", help="Folder for traces.csv and the truth")],
    routes: Annotated[int | None, typer.Option(help="Number of routes (seeded pick; "
                                                    "default all)")] = None,
    rides: Annotated[int, typer.Option(help="Rides per route direction")] = 4,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same output)")] = 0,
    on_date: Annotated[str | None, typer.Option(
        "--date", help="Service date YYYY-MM-DD (default: first Tuesday of the feed)")] = None,
    sampling_s: Annotated[str, typer.Option(
        help="Range of phone sampling intervals, seconds (one draw per device)")] = "1,15",
    noise_m: Annotated[str, typer.Option(
        help="Range of phone GPS noise (RMS), metres (one draw per device)")] = "5,25",
) -> None:
    """Ride vehicles along a feed's shapes; write phone-like traces and the ground truth."""
    if routes is not None and routes < 1:
        raise InputError("--routes must be at least 1", fix="give --routes 25, for example")
    config = replace(SimConfig(), sampling_s=_span(sampling_s, "--sampling-s", 0.1),
                     noise_m=_span(noise_m, "--noise-m", 0.0))
    with Progress(TextColumn("simulating rides"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=Console(stderr=True),
                  transient=True) as bar:
        task = bar.add_task("rides", total=None)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result, paths = simulate_feed(feed, out, n_routes=routes, rides_per_direction=rides,
                                      seed=seed, service_date=_parse_date(on_date),
                                      config=config, progress=tick)
    n_fixes = sum(len(t.time_s) for t in result.traces)
    n_routes = len({r.route_id for r in result.rides})
    typer.echo(f"simulated {len(result.traces):,} traces ({n_fixes:,} positionfixes) on "
               f"{n_routes} routes; truth: {len(result.truth.stops):,} stops, "
               f"{len(result.truth.patterns)} patterns")
    for name, path in paths.items():
        typer.echo(f"  {name}: {path}")


def _truth_path(truth: Path) -> Path:
    if truth.is_dir() and (truth / "truth.zip").exists():
        return truth / "truth.zip"
    return truth


def _fmt(value: Any, pattern: str) -> str:
    return "n/a" if value is None else pattern.format(value)


def evaluate(
    built_feed: Annotated[Path, typer.Argument(help="The feed the builder wrote")],
    truth: Annotated[Path, typer.Argument(help="Truth GTFS zip, or a `transit simulate` "
                                               "output folder")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON")] = False,
    radius_m: Annotated[float, typer.Option(help="Stop match radius, metres")] = 30.0,
    details: Annotated[bool, typer.Option(help="Include per-pattern rows in --json")] = False,
) -> None:
    """Stop precision/recall/F1, pattern recovery, shape and run-time error vs the truth."""
    if radius_m <= 0:
        raise InputError("--radius-m must be positive", fix="give --radius-m 30")
    report = evaluate_network(read_network(built_feed), read_network(_truth_path(truth)),
                              radius_m=radius_m)
    if as_json:
        if not details:
            report["patterns"].pop("details")
        typer.echo(json.dumps(report, indent=1, sort_keys=True))
        return
    s, p, sh, rt = report["stops"], report["patterns"], report["shapes"], report["run_times"]
    w = s["within_radius"]
    typer.echo(f"stops within {radius_m:g} m: precision {w['precision']:.3f}, recall "
               f"{w['recall']:.3f}, F1 {w['f1']:.3f} ({s['n_built']} built, "
               f"{s['n_truth']} truth)")
    typer.echo(f"  matched one-to-one: precision {s['precision']:.3f}, recall "
               f"{s['recall']:.3f}, F1 {s['f1']:.3f} ({s['matched']} pairs)")
    typer.echo(f"patterns recovered: {p['recovered']} of {p['n_truth']} "
               f"({p['recovery']:.1%})")
    typer.echo(f"shape mean error: {_fmt(sh['mean_error_m'], '{:.1f}')} m over {sh['n']} "
               "patterns")
    typer.echo(f"median run-time error: {_fmt(rt['median_error_pct'], '{:.1f}')} % over "
               f"{rt['n_pairs']} stop pairs")
    missed = Counter(d["route_id"] for d in p["details"] if not d["recovered"])
    if missed:
        typer.echo("routes with unrecovered patterns: "
                   + ", ".join(f"{r} ({n})" for r, n in sorted(missed.items())))


def register(app: typer.Typer) -> None:
    """Add validate, simulate and evaluate to the ``transit`` app."""
    app.command("validate")(validate)
    app.command("simulate")(simulate)
    app.command("evaluate")(evaluate)
