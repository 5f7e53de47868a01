"""CSV reader: column aliases, delimiters, BOM, time forms, bad rows, containers."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from gps_ingest.containers import Limits, iter_members
from gps_ingest.csvfile import iter_read_csv, read_csv, sniff_csv
from transit.errors import FormatError, TooLargeError
from transit.traces import Reason

T0 = 1572971489000  # 2019-11-05T16:31:29Z


def read(text: str | bytes, tz: str = "UTC", source: str = "t.csv"):
    data = text.encode() if isinstance(text, str) else text
    return read_csv(io.BytesIO(data), source=source, timezone=tz)


def test_abidjan_style_columns(fixtures_dir: Path) -> None:
    with (fixtures_dir / "csv" / "abidjan_style.csv").open("rb") as fh:
        ts = read_csv(fh, source="abidjan_style.csv")
    assert [t.trace_key for t in ts.traces] == ["7"]
    assert ts.fixes.time_ms.tolist() == [T0, T0 + 1000, T0 + 2000]
    assert ts.fixes.lat[0] == pytest.approx(5.260917)
    assert ts.fixes.speed_mps[1] == pytest.approx(0.75)
    assert ts.fixes.altitude_m[0] == pytest.approx(5.1)
    assert np.isnan(ts.fixes.accuracy_m).all()


def test_semicolon_bom_local_time_hdop_kmh(fixtures_dir: Path) -> None:
    with (fixtures_dir / "csv" / "semicolon_bom_local.csv").open("rb") as fh:
        ts = read_csv(fh, source="x.csv", timezone="Africa/Nairobi")
    # 07:00 in Nairobi (UTC+3) is 04:00 UTC
    assert ts.fixes.time_ms[0] == 1709524800000
    assert ts.traces[0].device_id == "35000001"
    assert ts.fixes.accuracy_m[0] == pytest.approx(6.0)  # hdop 1.2 * 5 m
    assert ts.fixes.speed_mps[0] == pytest.approx(10.0)  # 36 km/h
    assert ts.traces[0].trace_key == "x"  # no trace column: one trace named after the file


def test_tabs_and_epoch_seconds_and_millis(fixtures_dir: Path) -> None:
    with (fixtures_dir / "csv" / "tabs_epoch.csv").open("rb") as fh:
        ts = read_csv(fh, source="tabs_epoch.csv")
    assert ts.fixes.time_ms.tolist() == [1709535600000, 1709535605000]
    assert ts.fixes.accuracy_m.tolist() == [8.0, 12.0]
    assert ts.traces[0].trace_key == "a"


def test_bad_rows_are_rejected_with_line_and_reason() -> None:
    text = ("lat,lon,time\n"
            "5.1,-3.9,2019-11-05T16:31:29Z\n"
            ",-3.9,2019-11-05T16:31:30Z\n"
            "NaN,-3.9,2019-11-05T16:31:31Z\n"
            "abc,-3.9,2019-11-05T16:31:32Z\n"
            "5.1,-3.9,not a time\n"
            "5.1,-3.9\n"
            "5.1,-3.9,1572971495\n")
    ts = read(text)
    assert len(ts.fixes) == 2
    got = [(r.where, r.reason) for r in ts.rejections]
    assert ("line 3", Reason.MISSING_VALUE) in got
    assert ("line 4", Reason.MISSING_VALUE) in got
    assert ("line 5", Reason.BAD_NUMBER) in got
    assert ("line 6", Reason.BAD_TIME) in got
    ragged = [r for r in ts.rejections if "cells where the header has 3" in r.detail]
    assert len(ragged) == 1
    assert "'5.1,-3.9'" in ragged[0].detail  # the row's text says which one
    assert ts.n_rejected() == 5


def test_mixed_timestamp_formats_each_row_on_its_own() -> None:
    text = ("lat,lon,time\n"
            "5.1,-3.9,2019-11-05T16:31:29Z\n"
            "5.1,-3.9,1572971490\n"
            "5.1,-3.9,1572971491000\n"
            "5.1,-3.9,2019-11-05 16:31:32\n"
            "5.1,-3.9,05/11/2019 16:31:33\n")
    ts = read(text)
    assert ts.fixes.time_ms.tolist()[:4] == [T0, T0 + 1000, T0 + 2000, T0 + 3000]
    assert len(ts.fixes) == 5


def test_waypoint_file_gives_field_stops() -> None:
    text = ("trace_id,time_utc,lat,lon,ele,name,boardings\n"
            "83,2019-11-05T16:31:32Z,5.260828,-3.963982,3.2,Port Bouet Hopital,3\n"
            "83,2019-11-05T16:40:00Z,5.27,-3.97,3.0,,\n")
    ts = read(text)
    assert len(ts.fixes) == 0
    assert [s.name for s in ts.field_stops] == ["Port Bouet Hopital", None]
    assert ts.field_stops[0].boardings == 3
    assert ts.field_stops[0].time_ms == T0 + 3000


def test_metadata_file_gives_trace_meta() -> None:
    ts = read("trace_id,line,direction,mode_guess\n1,02,A,sotra_bus\n2,18,B,gbaka\n")
    assert [(t.trace_key, t.route_name, t.direction, t.vehicle_type) for t in ts.traces] == [
        ("1", "02", "A", "sotra_bus"), ("2", "18", "B", "gbaka")]


@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty"),
    (b"   \n", "empty"),
    (bytes(range(256)) * 4, "binary"),
    (b"foo,bar,baz\n1,2,3\n", "no lat or lon or time column"),
    (b"lat,lon\n1,2\n", "no time column"),
])
def test_unusable_files_give_one_line_errors(data: bytes, message: str) -> None:
    with pytest.raises(FormatError) as info:
        read(data)
    text = str(info.value)
    assert message in text
    assert "\n" not in text
    assert text.startswith("t.csv")


def test_sniff() -> None:
    assert sniff_csv(b"trace_id,seq,time_utc,lat,lon\n1,0,x,1,2\n")
    assert sniff_csv(b"Latitude;Longitude;Timestamp\n")
    assert not sniff_csv(b"<?xml version='1.0'?><gpx>")
    assert not sniff_csv(b'{"type": "FeatureCollection"}')
    assert not sniff_csv(b"hello world\n")


def test_streaming_hands_on_finished_traces_early() -> None:
    rows = ["trace_id,time,lat,lon"]
    for trace in range(3):
        rows += [f"{trace},{1572971489 + i},5.{trace}{i:04d},-3.9" for i in range(200_000)]
    data = ("\n".join(rows) + "\n").encode()
    parts = list(iter_read_csv(io.BytesIO(data), source="big.csv"))
    assert len(parts) >= 2  # not all in one part: earlier traces were flushed
    assert sum(len(p.fixes) for p in parts) == 600_000
    keys = [t.trace_key for p in parts for t in p.traces]
    assert sorted(keys) == ["0", "1", "2"]


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_gzip_and_zip_members_stream() -> None:
    text = b"lat,lon,time\n5.1,-3.9,1572971489\n"
    members = list(iter_members(io.BytesIO(gzip.compress(text)), source="a.csv.gz"))
    assert [m.name for m in members] == ["a.csv"]
    assert members[0].stream.read() == text
    members = list(iter_members(io.BytesIO(_zip({"b.csv": text, "a.csv": text})),
                                source="t.zip"))
    assert [m.name for m in members] == ["t.zip:a.csv", "t.zip:b.csv"]
    assert all(m.one_of_many for m in members)


def test_zip_bomb_is_refused() -> None:
    bomb = _zip({"bomb.csv": b"0" * (50 << 20)})
    assert len(bomb) < 200_000
    with pytest.raises(TooLargeError, match="zip bomb"):
        list(iter_members(io.BytesIO(bomb), source="bomb.zip"))
    member = next(iter_members(io.BytesIO(gzip.compress(b"0" * (3 << 20))), source="b.gz",
                               limits=Limits(max_expanded_bytes=1 << 20)))
    with pytest.raises(TooLargeError):
        member.stream.read()


def test_truncated_zip_is_a_format_error() -> None:
    data = _zip({"a.csv": b"lat,lon,time\n" + b"5.1,-3.9,1572971489\n" * 10_000})
    def read_all() -> None:
        for member in iter_members(io.BytesIO(data[: len(data) // 2]), source="cut.zip"):
            member.stream.read()

    with pytest.raises(FormatError):
        read_all()


def test_abidjan_sample_loads_as_is(shared_data: Path) -> None:
    folder = shared_data / "abidjan-gps-traces"
    with (folder / "sample_trackpoints.csv").open("rb") as fh:
        ts = read_csv(fh, source="sample_trackpoints.csv")
    assert sorted(t.trace_key for t in ts.traces) == ["548", "578", "762", "83"]
    assert len(ts.fixes) == 9109
    assert ts.rejections == []
    with (folder / "sample_waypoints.csv").open("rb") as fh:
        stops = read_csv(fh, source="sample_waypoints.csv")
    assert len(stops.field_stops) > 50
    assert any(s.name == "Port Bouet Hopital" for s in stops.field_stops)


def test_geojson_over_the_size_limit_is_refused_before_parsing() -> None:
    from gps_ingest.pipeline import ReadOptions, read_parts

    big = b'{"type": "FeatureCollection", "features": [' + b" " * (2 << 20) + b"]}"
    options = ReadOptions(limits=Limits(max_geojson_bytes=1 << 20))
    with pytest.raises(TooLargeError, match="GeoJSON over 1,048,576 bytes"):
        list(read_parts(io.BytesIO(big), source="big.geojson", options=options))
