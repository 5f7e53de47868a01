"""Every feed the writer emits passes the independent validators with zero errors."""

from __future__ import annotations

from pathlib import Path

from gtfs_out.independent import run_gtfs_guru, run_gtfs_validator
from gtfs_out.write import write_feed
from tests.small_network import small_network
from transit.model import Route


def _errors(findings: list) -> list:  # type: ignore[type-arg]
    return [f for f in findings if f.severity == "error"]


def test_small_feed_passes_gtfs_guru_clean(tmp_path: Path) -> None:
    path = write_feed(small_network(), tmp_path / "feed.zip")
    findings = run_gtfs_guru(path, date="2026-03-01")
    assert _errors(findings) == []
    assert [f.code for f in findings if f.severity == "warning"] == []


def test_hail_and_ride_feed_passes_gtfs_validator(tmp_path: Path) -> None:
    net = small_network(routes=(Route("r33", "33", "Alpha - Delta", continuous_pickup=0,
                                      continuous_drop_off=0),))
    path = write_feed(net, tmp_path / "feed.zip")
    assert _errors(run_gtfs_validator(path, date="2026-03-01")) == []
