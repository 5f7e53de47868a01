"""Every feed the writer emits passes the independent validators with zero errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from gtfs_out.independent import run_gtfs_guru, run_gtfs_validator
from gtfs_out.network_read import read_network
from gtfs_out.read import read_feed
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


@pytest.mark.slow
@pytest.mark.parametrize("name", ["esteli-gtfs", "nairobi-gtfs-2014"])
def test_real_feeds_rewritten_pass_gtfs_guru(shared_data: Path, tmp_path: Path,
                                             name: str) -> None:
    """A timetabled feed (Estelí) and a frequency feed (Nairobi 2014), read as networks
    and written back: zero errors, same stops served."""
    network = read_network(shared_data / name / "gtfs.zip")
    path = write_feed(network, tmp_path / "feed.zip")
    assert _errors(run_gtfs_guru(path)) == []
    served = {s for p in network.patterns if p.timings for s in p.stop_ids}
    assert set(read_feed(path)["stops"]["stop_id"]) == served
