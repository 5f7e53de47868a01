"""The GTFS writer: deterministic bytes, arithmetic stop times, atomic publication."""

from __future__ import annotations

import io
import itertools
import os
import zipfile
from dataclasses import replace
from pathlib import Path

import gtfs_kit
import partridge
import pytest

from gtfs_out.read import read_feed
from gtfs_out.tables import build_feed_rows, format_clock, shape_rows, stop_distances
from gtfs_out.write import ZIP_DATE_TIME, feed_bytes, write_feed
from tests.small_network import small_network
from transit.errors import BuildError, InputError
from transit.model import Route, Shape, Stop


def test_same_network_same_bytes(tmp_path: Path) -> None:
    a = write_feed(small_network(), tmp_path / "a.zip").read_bytes()
    b = write_feed(small_network(), tmp_path / "b.zip").read_bytes()
    assert a == b == feed_bytes(small_network())


def test_reordered_input_gives_same_bytes() -> None:
    net = small_network()
    shuffled = replace(net, stops=net.stops[::-1], patterns=net.patterns[::-1],
                       shapes=net.shapes[::-1])
    assert feed_bytes(shuffled) == feed_bytes(net)


def test_zip_entries_fixed_order_time_and_mode() -> None:
    with zipfile.ZipFile(io.BytesIO(feed_bytes(small_network()))) as zf:
        infos = zf.infolist()
    assert [i.filename for i in infos] == [
        "agency.txt", "stops.txt", "routes.txt", "trips.txt", "stop_times.txt",
        "frequencies.txt", "shapes.txt", "calendar.txt", "feed_info.txt"]
    assert {i.date_time for i in infos} == {ZIP_DATE_TIME}
    assert {(i.external_attr >> 16) & 0o777 for i in infos} == {0o644}


def test_stop_times_start_at_band_and_add_dwell_and_run() -> None:
    rows = build_feed_rows(small_network())["stop_times"][1]
    am = [r for r in rows if r[0] == "p33_0_am_peak"]
    # run times 60, 70, 80 s; dwells 0, 20, 30, 0 s; band starts 07:00
    assert [(r[1], r[2], r[3], r[4], r[5]) for r in am] == [
        ("07:00:00", "07:00:00", "A", "1", "0"),
        ("07:01:00", "07:01:20", "B", "2", "0"),
        ("07:02:30", "07:03:00", "C", "3", "0"),
        ("07:04:20", "07:04:20", "D", "4", "0"),
    ]


def test_frequencies_one_window_per_template_trip() -> None:
    header, rows = build_feed_rows(small_network())["frequencies"]
    assert header == ("trip_id", "start_time", "end_time", "headway_secs", "exact_times")
    assert rows == [
        ("p33_0_am_peak", "07:00:00", "09:00:00", "300", "0"),
        ("p33_0_midday", "09:00:00", "16:00:00", "600", "0"),
        ("p33_1_am_peak", "07:00:00", "09:00:00", "300", "0"),
        ("p33_1_midday", "09:00:00", "16:00:00", "600", "0"),
    ]


def test_trips_carry_direction_and_shape() -> None:
    rows = build_feed_rows(small_network())["trips"][1]
    assert [(r[2], r[4], r[5], r[3]) for r in rows] == [
        ("p33_0_am_peak", "0", "s33_0", "Delta Stage"),
        ("p33_0_midday", "0", "s33_0", "Delta Stage"),
        ("p33_1_am_peak", "1", "s33_1", "Alpha Stage"),
        ("p33_1_midday", "1", "s33_1", "Alpha Stage"),
    ]


def test_continuous_pickup_columns_only_when_set() -> None:
    plain = build_feed_rows(small_network())["routes"]
    assert "continuous_pickup" not in plain[0]
    hail = small_network(routes=(Route("r33", "33", "Alpha - Delta", continuous_pickup=0,
                                       continuous_drop_off=0),))
    header, rows = build_feed_rows(hail)["routes"]
    assert header[-2:] == ("continuous_pickup", "continuous_drop_off")
    assert rows[0][-2:] == ("0", "0")


def test_shape_rows_drop_repeats_and_distance_increases() -> None:
    shape = Shape("s", lat=(-1.3, -1.3, -1.3000000001, -1.2991), lon=(36.8, 36.8, 36.8, 36.8))
    rows = shape_rows(shape)
    assert [r[3] for r in rows] == ["1", "2"]
    assert rows[0][4] == "0.00"
    # 0.0009 degrees of latitude = 100.08 m
    assert float(rows[1][4]) == pytest.approx(100.08, abs=0.01)


def test_format_clock_past_midnight() -> None:
    assert format_clock(25 * 3600 + 61) == "25:01:01"


def test_coordinates_have_six_decimals() -> None:
    rows = build_feed_rows(small_network())["stops"][1]
    assert rows[0][:4] == ("A", "Alpha Stage", "-1.300000", "36.800000")


def test_feed_info_and_calendar() -> None:
    rows = build_feed_rows(small_network())
    assert rows["calendar"][1] == [("daily", "1", "1", "1", "1", "1", "1", "1", "20260101",
                                    "20261231")]
    info = dict(zip(*[rows["feed_info"][0], rows["feed_info"][1][0]], strict=True))
    assert info["feed_version"] == "test-1"
    assert info["feed_start_date"] == "20260101"
    assert info["feed_contact_url"] == "https://example.org/"


def test_reads_back_with_our_reader_gtfs_kit_and_partridge(tmp_path: Path) -> None:
    path = write_feed(small_network(), tmp_path / "feed.zip")
    tables = read_feed(path)
    assert len(tables["stop_times"]) == 16
    feed = gtfs_kit.read_feed(path, dist_units="km")
    assert len(feed.trips) == 4
    assert len(feed.frequencies) == 4
    pfeed = partridge.load_feed(str(path))
    assert sorted(pfeed.stops.stop_id) == ["A", "B", "C", "D"]


def test_unwritable_folder_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        write_feed(small_network(), tmp_path / "no" / "feed.zip")
    with pytest.raises(InputError, match="is a folder"):
        write_feed(small_network(), tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only folders")
def test_read_only_folder_leaves_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(InputError, match="cannot write"):
            write_feed(small_network(), folder / "feed.zip")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_failure_keeps_old_feed_and_leaves_no_temp(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "feed.zip"
    target.write_bytes(b"old feed")

    def broken_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(InputError, match="No space left"):
        write_feed(small_network(), target)
    assert target.read_bytes() == b"old feed"
    assert [p.name for p in tmp_path.iterdir()] == ["feed.zip"]


def test_missing_feed_version_derives_from_content() -> None:
    a = build_feed_rows(small_network(feed_version=""))
    b = build_feed_rows(small_network(feed_version="", agency_name="Other Sacco"))
    version_a = a["feed_info"][1][0][5]
    assert version_a.startswith("sha256:")
    assert len(version_a) == len("sha256:") + 12
    assert version_a == build_feed_rows(small_network(feed_version=""))["feed_info"][1][0][5]
    assert version_a != b["feed_info"][1][0][5]


def test_network_without_timed_patterns_is_not_published(tmp_path: Path) -> None:
    net = small_network()
    empty = replace(net, patterns=tuple(replace(p, timings=()) for p in net.patterns))
    with pytest.raises(BuildError, match="nothing to publish"):
        write_feed(empty, tmp_path / "feed.zip")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(BuildError):
        feed_bytes(empty)


def test_stop_distances_follow_the_shape() -> None:
    rows = build_feed_rows(small_network())
    header, body = rows["stop_times"]
    assert header[-1] == "shape_dist_traveled"
    north = [r[6] for r in body if r[0] == "p33_0_am_peak"]
    shape_end = [r[4] for r in rows["shapes"][1] if r[0] == "s33_0"][-1]
    # stops every 4th vertex of a shape with a vertex every 100.075 m
    assert north[:3] == ["0.00", "400.30", "800.60"]
    assert north[3] == shape_end


def test_stop_distances_strictly_increase_and_stay_on_the_shape() -> None:
    shape = shape_rows(Shape("s", lat=(-1.3, -1.2991, -1.3), lon=(36.8, 36.8, 36.8)))
    # out and back: A at the start, B at the far end, C (= A's place) on the way back,
    # D twice at the same place as C, E beyond the end
    stops = [Stop("A", "A", -1.3, 36.8), Stop("B", "B", -1.2991, 36.8),
             Stop("C", "C", -1.3, 36.8), Stop("D", "D", -1.3, 36.8),
             Stop("E", "E", -1.3005, 36.8)]
    dists = stop_distances(stops, shape)
    assert dists is not None
    values = [float(d) for d in dists]
    total = float(shape[-1][4])
    assert values[0] == 0.0
    assert values[1] == pytest.approx(total / 2, abs=0.02)
    assert all(b > a for a, b in itertools.pairwise(values))
    assert values[-1] == total
    assert values[2] == pytest.approx(total - 0.02, abs=1e-9)
