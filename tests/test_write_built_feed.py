"""End to end through the writer: simulated traces -> builder -> feed that validates clean.

Skips when the builder (transit.build) is not in this tree yet.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gtfs_out.independent import run_gtfs_guru
from gtfs_out.network_read import read_network
from gtfs_out.simulate_io import simulate_feed
from gtfs_out.validate import validate_feed
from gtfs_out.write import write_feed
from transit.evaluate import evaluate_network

build = pytest.importorskip("transit.build", reason="the builder has not landed in this tree")


@pytest.mark.slow
def test_built_feed_from_simulated_traces_has_zero_errors(shared_data: Path,
                                                          tmp_path: Path) -> None:
    from gps_ingest.clean import clean_traceset
    from gps_ingest.csvfile import read_csv

    result, paths = simulate_feed(shared_data / "nairobi-gtfs" / "gtfs.zip", tmp_path / "sim",
                                  n_routes=3, rides_per_direction=4, seed=21)
    with paths["traces"].open("rb") as fh:
        traces = clean_traceset(read_csv(fh, source="traces.csv"))
    built = build.build_network(list(traces.iter_segments()),
                                build.BuildOptions(timezone="Africa/Nairobi"))
    feed = write_feed(built.network, tmp_path / "built.zip")
    assert [f for f in validate_feed(feed) if f.severity == "error"] == []
    assert [f for f in run_gtfs_guru(feed) if f.severity == "error"] == []
    report = evaluate_network(read_network(feed), read_network(paths["truth_feed"]))
    assert report["stops"]["n_truth"] == len(result.truth.stops)
    assert report["stops"]["f1"] > 0.5  # a sanity floor; bench.feed measures the targets
