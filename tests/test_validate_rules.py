"""Own validation rules: one broken inline feed per rule, and clean writer output."""

from __future__ import annotations

from pathlib import Path

import pytest

from gtfs_out.read import read_feed
from gtfs_out.validate import exit_code, validate_feed, validate_tables
from gtfs_out.write import write_feed
from tests.small_network import small_network
from transit.errors import FeedError

GOOD: dict[str, str] = {
    "agency": "agency_id,agency_name,agency_url,agency_timezone\n"
              "1,Sacco,https://example.org,Africa/Nairobi\n",
    "stops": "stop_id,stop_name,stop_lat,stop_lon\n"
             "A,Alpha,-1.300000,36.800000\nB,Bravo,-1.296400,36.800000\n"
             "C,Charlie,-1.292800,36.800000\n",
    "routes": "route_id,agency_id,route_short_name,route_long_name,route_type\n"
              "r,1,33,,3\n",
    "trips": "route_id,service_id,trip_id,direction_id,shape_id\nr,daily,t1,0,s\n",
    "stop_times": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                  "t1,07:00:00,07:00:00,A,1\nt1,07:01:00,07:01:20,B,2\n"
                  "t1,07:02:30,07:02:30,C,3\n",
    "frequencies": "trip_id,start_time,end_time,headway_secs,exact_times\n"
                   "t1,07:00:00,09:00:00,300,0\n",
    "shapes": "shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence\n"
              "s,-1.300000,36.800000,1\ns,-1.292800,36.800000,2\n",
    "calendar": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
                "start_date,end_date\ndaily,1,1,1,1,1,1,1,20260101,20261231\n",
    "feed_info": "feed_publisher_name,feed_publisher_url,feed_lang,feed_start_date,"
                 "feed_end_date,feed_version\nP,https://example.org,en,20260101,20261231,v1\n",
}


def _feed(tmp_path: Path, **changes: str | None) -> Path:
    files = dict(GOOD)
    for name, text in changes.items():
        if text is None:
            files.pop(name, None)
        else:
            files[name] = text
    folder = tmp_path / "feed"
    folder.mkdir()
    for name, text in files.items():
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    return folder


def _codes(tmp_path: Path, **changes: str | None) -> set[tuple[str, str, str]]:
    return {(f.code, f.severity, f.entity_id) for f in validate_feed(_feed(tmp_path, **changes))}


def test_good_inline_feed_has_no_findings(tmp_path: Path) -> None:
    assert validate_feed(_feed(tmp_path)) == []


def test_writer_output_has_no_own_findings(tmp_path: Path) -> None:
    findings = validate_feed(write_feed(small_network(), tmp_path / "f.zip"))
    assert findings == []
    assert exit_code(findings) == 0


def test_decreasing_stop_time_is_an_error(tmp_path: Path) -> None:
    st = GOOD["stop_times"].replace("07:02:30,07:02:30", "07:00:30,07:00:30")
    assert ("decreasing_stop_time", "error", "t1#3") in _codes(tmp_path, stop_times=st)


def test_missing_edge_time_and_bad_time(tmp_path: Path) -> None:
    st = GOOD["stop_times"].replace("07:02:30,07:02:30", ",7h02").replace("07:01:00", "x")
    codes = _codes(tmp_path, stop_times=st)
    assert ("missing_trip_edge_time", "error", "t1#3") in codes
    assert ("invalid_time", "error", "t1#2") in codes


def test_overlapping_frequencies_and_bad_headway(tmp_path: Path) -> None:
    fr = GOOD["frequencies"] + "t1,08:00:00,10:00:00,0,2\n"
    codes = _codes(tmp_path, frequencies=fr)
    assert ("overlapping_frequency", "error", "t1") in codes
    assert ("invalid_headway", "error", "t1@08:00:00") in codes
    assert ("invalid_exact_times", "error", "t1@08:00:00") in codes


def test_unknown_references(tmp_path: Path) -> None:
    st = GOOD["stop_times"] + "t1,07:05:00,07:05:00,Z,4\n"
    trips = GOOD["trips"] + "nope,weekday,t2,0,\n"
    codes = _codes(tmp_path, stop_times=st, trips=trips)
    assert ("foreign_key_violation", "error", "Z") in codes
    assert ("foreign_key_violation", "error", "nope") in codes
    assert ("foreign_key_violation", "error", "weekday") in codes
    assert ("trip_without_stop_times", "warning", "t2") in codes


def test_coordinates_out_of_range_and_null_island(tmp_path: Path) -> None:
    stops = GOOD["stops"] + "Y,Yankee,0,0\nX,Xray,95,36.8\n"
    codes = _codes(tmp_path, stops=stops)
    assert ("point_near_origin", "error", "Y") in codes
    assert ("invalid_coordinates", "error", "X") in codes
    assert ("unused_stop", "info", "X") in codes


def test_stops_too_close_and_far_from_shape(tmp_path: Path) -> None:
    # D is 1.1 m from A (0.00001 degrees of latitude); E is 200 m east of the shape
    stops = GOOD["stops"] + "D,Delta,-1.299990,36.800000\nE,Echo,-1.296400,36.801799\n"
    st = GOOD["stop_times"] + "t1,07:05:00,07:05:00,E,4\n"
    codes = _codes(tmp_path, stops=stops, stop_times=st)
    assert ("stops_too_close", "warning", "A") in codes
    assert ("stop_too_far_from_shape", "warning", "E") in codes


def test_fast_travel(tmp_path: Path) -> None:
    # C to a stop 11 km north in 60 s is 667 km/h
    stops = GOOD["stops"] + "F,Far,-1.192800,36.800000\n"
    st = GOOD["stop_times"] + "t1,07:03:30,07:03:30,F,4\n"
    assert ("fast_travel_between_consecutive_stops", "warning", "t1#4") in _codes(
        tmp_path, stops=stops, stop_times=st)


def test_missing_files_and_columns(tmp_path: Path) -> None:
    routes = "route_id,agency_id,route_short_name,route_long_name\nr,1,,\n"
    codes = _codes(tmp_path, routes=routes, calendar=None, feed_info=None)
    assert ("missing_required_file", "error", "") in codes
    assert ("missing_required_column", "error", "") in codes
    assert ("route_both_short_and_long_name_missing", "error", "r") in codes
    assert ("missing_feed_info", "warning", "") in codes


def test_empty_required_file(tmp_path: Path) -> None:
    trips = "route_id,service_id,trip_id,direction_id,shape_id\n"
    assert ("empty_file", "error", "") in _codes(tmp_path, trips=trips)


def test_duplicate_keys_and_reversed_dates(tmp_path: Path) -> None:
    stops = GOOD["stops"] + "A,Again,-1.31,36.81\n"
    cal = GOOD["calendar"].replace("20260101,20261231", "20261231,20260101")
    codes = _codes(tmp_path, stops=stops, calendar=cal)
    assert ("duplicate_key", "error", "A") in codes
    assert ("start_and_end_range_out_of_order", "error", "daily") in codes


def test_findings_sorted_errors_first(tmp_path: Path) -> None:
    stops = GOOD["stops"] + "Y,Yankee,0,0\n"
    findings = validate_tables(read_feed(_feed(tmp_path, stops=stops)))
    severities = [f.severity for f in findings]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)
    assert exit_code(findings) == 1


def test_unreadable_feed_raises(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(FeedError):
        validate_feed(bad)


def test_real_nairobi_feed_has_no_errors(shared_data: Path) -> None:
    findings = validate_feed(shared_data / "nairobi-gtfs" / "gtfs.zip")
    assert [f for f in findings if f.severity == "error"] == []
    # the 2019 feed has no feed_version (gtfs-validator says the same)
    assert ("missing_recommended_field", "feed_version") in {(f.code, f.field) for f in findings}
