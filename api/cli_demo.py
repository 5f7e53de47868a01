"""`transit demo`: ingest -> build -> validate -> evaluate on the bundled example."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from transit.errors import InputError

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "nairobi-sim"


def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the store, feed and reports")]
    = Path("demo-out"),
    example: Annotated[Path, typer.Option(
        help="Example folder holding traces.csv.gz and truth.zip")] = EXAMPLE,
    independent: Annotated[bool, typer.Option(
        "--independent/--no-independent",
        help="Also run the independent validator (gtfs-guru)")] = True,
) -> None:
    """Run the whole pipeline on a bundled example and print what each step did.

    1. ingest the example's phone traces into a fresh SQLite store in OUT;
    2. build stops, routes, run times and headways from the store into OUT/feed.zip;
    3. validate the feed (own rules, and gtfs-guru);
    4. evaluate the built feed against the example's ground truth.
    """
    from api.cli_build import load_segments, write_json_atomic
    from api.ingest import ingest_file
    from api.store.db import open_store
    from gtfs_out.independent import validate_independent
    from gtfs_out.network_read import read_network
    from gtfs_out.validate import validate_feed
    from gtfs_out.write import write_feed
    from transit.build import BuildOptions, build_network
    from transit.evaluate import evaluate_network
    from transit.report import format_report

    traces = example / "traces.csv.gz"
    truth = example / "truth.zip"
    for needed in (traces, truth):
        if not needed.is_file():
            raise InputError("missing from the example folder", where=str(needed),
                             fix="give --example a folder made by `transit simulate`")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the folder ({exc.strerror})", where=str(out),
                         fix="give --out a folder you can write") from None
    db_path = out / "demo.sqlite"
    for stale in (db_path, out / "demo.sqlite-wal", out / "demo.sqlite-shm"):
        stale.unlink(missing_ok=True)
    db = f"sqlite:///{db_path}"
    timezone = "Africa/Nairobi"
    t0 = time.perf_counter()

    typer.echo(f"1. ingest {traces}")
    engine = open_store(db)
    try:
        result = ingest_file(engine, traces, uploaded_by="demo")
    finally:
        engine.dispose()
    reasons = ", ".join(f"{k} {v:,}" for k, v in result.reason_counts.items()) or "none"
    typer.echo(f"   {result.n_traces} traces, {result.n_accepted:,} fixes accepted, "
               f"{result.n_rejected:,} dropped by cleaning ({reasons}) -> {db_path}")

    typer.echo("2. build stops, routes, run times and headways")
    segments = load_segments(db, None, timezone, True)
    built = build_network(segments, BuildOptions(timezone=timezone,
                                                 agency_name="Demo matatus (simulated)"))
    feed = write_feed(built.network, out / "feed.zip")
    write_json_atomic(built.report, out / "feed.report.json")
    net = built.network
    typer.echo(f"   {len(segments)} trip segments -> {len(net.stops)} stops, "
               f"{len(net.routes)} routes, {len(net.patterns)} patterns -> {feed}")
    typer.echo("   " + format_report(built.report).replace("\n", "\n   "))

    typer.echo("3. validate")
    own = validate_feed(feed)
    errors = [f for f in own if f.severity == "error"]
    typer.echo(f"   own rules: {len(errors)} errors, "
               f"{sum(f.severity == 'warning' for f in own)} warnings")
    if independent:
        other = validate_independent(feed)
        other_errors = [f for f in other if f.severity == "error"]
        typer.echo(f"   gtfs-guru: {len(other_errors)} errors, "
                   f"{sum(f.severity == 'warning' for f in other)} warnings")
        errors += other_errors

    typer.echo(f"4. evaluate against the truth ({truth})")
    score = evaluate_network(read_network(feed), read_network(truth))
    s, p, sh, rt = score["stops"], score["patterns"], score["shapes"], score["run_times"]
    w = s["within_radius"]
    typer.echo(f"   stops within 30 m: precision {w['precision']:.3f}, recall {w['recall']:.3f}, "
               f"F1 {w['f1']:.3f} (matched one-to-one: F1 {s['f1']:.3f})")
    typer.echo(f"   patterns recovered: {p['recovered']} of {p['n_truth']}")
    if sh["mean_error_m"] is not None:
        typer.echo(f"   shape mean error: {sh['mean_error_m']:.1f} m")
    if rt["median_error_pct"] is not None:
        typer.echo(f"   median run-time error: {rt['median_error_pct']:.1f} %")
    write_json_atomic(score, out / "evaluation.json")
    typer.echo(f"done in {time.perf_counter() - t0:.1f} s; outputs in {out}/")
    if errors:
        typer.echo(f"the feed has {len(errors)} validation errors", err=True)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``transit demo`` to the CLI."""
    app.command("demo")(demo)
