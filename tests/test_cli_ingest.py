"""`transit ingest` / `transit traces list` as a user runs them: output, exit codes,
one-line errors without tracebacks."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent / "transit"
CSV = (b"trace_id,time_utc,lat,lon\n"
       + b"".join(b"r1,2019-11-05T16:%02d:%02dZ,%.6f,-3.96\n" % (31 + i // 60, i % 60,
                                                               5.26 + i * 1e-4)
                  for i in range(120)))


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TRANSIT_DATABASE_URL"}
    return subprocess.run([str(BIN), *args], cwd=cwd, capture_output=True, text=True,
                          env=env, check=False, timeout=120)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {"good": tmp_path / "ride.csv", "gz": tmp_path / "ride2.csv.gz",
           "garbage": tmp_path / "garbage.dat", "empty": tmp_path / "empty.csv",
           "nocols": tmp_path / "nocols.csv"}
    out["good"].write_bytes(CSV)
    out["gz"].write_bytes(gzip.compress(CSV.replace(b"r1,", b"r2,")))
    out["garbage"].write_bytes(os.urandom(4096))
    out["empty"].write_bytes(b"")
    out["nocols"].write_bytes(b"a,b,c\n1,2,3\n")
    return out


def test_ingest_prints_per_file_and_lists(tmp_path: Path, files: dict[str, Path]) -> None:
    db = f"sqlite:///{tmp_path / 'store.sqlite'}"
    done = run("ingest", str(files["good"]), str(files["gz"]), "--db", db, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("ride.csv: stored as upload 1 [csv]: 1 traces, 120 fixes accepted")
    assert lines[1].startswith("ride2.csv.gz: stored as upload 2")
    again = run("ingest", str(files["good"]), "--db", db, cwd=tmp_path)
    assert again.returncode == 0
    assert "already stored as upload 1, nothing changed" in again.stdout
    listed = run("traces", "list", "--db", db, cwd=tmp_path)
    assert listed.returncode == 0
    assert "r1" in listed.stdout
    assert "r2" in listed.stdout
    assert "2 stored traces" in listed.stdout


@pytest.mark.parametrize(("name", "needle"), [
    ("garbage", "unrecognised content"),
    ("empty", "the file is empty"),
    ("nocols", "no lat or lon or time column"),
])
def test_unusable_files_exit_2_with_one_line(tmp_path: Path, files: dict[str, Path],
                                             name: str, needle: str) -> None:
    db = f"sqlite:///{tmp_path / 'store.sqlite'}"
    done = run("ingest", str(files["good"]), str(files[name]), "--db", db, cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stdout + done.stderr
    bad = [ln for ln in done.stdout.splitlines() if "REJECTED" in ln]
    assert len(bad) == 1
    assert needle in bad[0]
    assert files[name].name in bad[0]
    assert "raw bytes kept" in bad[0]
    assert "stored as upload 1" in done.stdout  # the good file still went in


@pytest.mark.parametrize(("args", "needle"), [
    (["ingest", "missing.csv"], "missing.csv: no such file"),
    (["ingest", "ride.csv", "--timezone", "Mars/Olympus"], "unknown timezone"),
    (["ingest", "ride.csv", "--timezone", "Africa"], "unknown timezone"),
    (["ingest", "ride.csv", "--format", "kml"], "unknown format 'kml'"),
    (["ingest", "ride.csv", "--campaign-start", "soon"], "--campaign-start"),
    (["ingest", "ride.csv", "--db", "nope://x"], "cannot use database URL"),
    (["ingest", "ride.csv", "--db", "sqlite:////no/such/folder/x.sqlite"], "does not exist"),
    (["traces", "list", "--upload", "99"], "no upload with id 99"),
])
def test_bad_arguments_are_one_line_errors(tmp_path: Path, files: dict[str, Path],
                                           args: list[str], needle: str) -> None:
    (tmp_path / "ride.csv").write_bytes(CSV)
    done = run(*args, cwd=tmp_path)
    assert done.returncode in (2, 3), done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert needle in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_database_url_from_environment(tmp_path: Path, files: dict[str, Path]) -> None:
    env = dict(os.environ, TRANSIT_DATABASE_URL=f"sqlite:///{tmp_path / 'env.sqlite'}")
    done = subprocess.run([str(BIN), "ingest", str(files["good"])], cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "env.sqlite").is_file()


def test_every_format_through_the_cli(tmp_path: Path, fixtures_dir: Path) -> None:
    """CSV, GPX (OSMTracker, GPSLogger), GeoJSON and TransitWand captures made from the
    published message definition, in one `transit ingest`, recognised by content."""
    files = [fixtures_dir / "csv" / "abidjan_style.csv",
             fixtures_dir / "gpx" / "osmtracker_1_1.gpx",
             fixtures_dir / "gpx" / "gpslogger_1_0.gpx",
             fixtures_dir / "geojson" / "linestring_coordtimes.geojson",
             fixtures_dir / "transitwand" / "upload_two_routes.pb",
             fixtures_dir / "transitwand" / "route_10001.pb"]
    renamed = tmp_path / "capture.dat"  # no telling extension: content decides
    renamed.write_bytes(files[4].read_bytes())
    files[4] = renamed
    db = f"sqlite:///{tmp_path / 'store.sqlite'}"
    done = run("ingest", *map(str, files), "--db", db, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    formats = [line.split("[", 1)[1].split("]", 1)[0] for line in done.stdout.splitlines()]
    assert formats == ["csv", "gpx", "gpx", "geojson", "transitwand", "transitwand"]


@pytest.mark.slow
def test_all_abidjan_files_load_as_they_are(tmp_path: Path, shared_data: Path) -> None:
    folder = shared_data / "abidjan-gps-traces"
    db = f"sqlite:///{tmp_path / 'store.sqlite'}"
    done = run("ingest", *(str(folder / f) for f in (
        "trackpoints.zip", "waypoints.csv", "traces.csv", "sample_trackpoints.csv",
        "sample_waypoints.csv")), "--db", db, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("trackpoints.zip: stored as upload 1 [csv]: 762 traces")
    accepted = int(lines[0].split("traces, ")[1].split(" fixes")[0].replace(",", ""))
    rejected = int(lines[0].split("accepted, ")[1].split(" rejected")[0].replace(",", ""))
    assert accepted + rejected == 2_501_335
    assert accepted > 2_300_000
    assert "22,973 field stops" in lines[1] or "field stops" in lines[1]
    assert lines[2].startswith("traces.csv: stored as upload 3 [csv]: 762 traces")
