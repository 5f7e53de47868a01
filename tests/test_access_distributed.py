"""The split by origin gives the same numbers as one process: Dask LocalCluster, processes."""

from __future__ import annotations

import numpy as np
import pytest

from api.access_run import dask_available, run_origins
from tests import access_synth as synth
from transit.access import AccessSpec, build_destinations, measure_origins
from transit.access_origins import build_origins
from transit.errors import InputError
from transit.one_to_all import draw_offsets

SPEC = AccessSpec(depart_s=7 * 3600, window_s=10 * 60, draws=2, seed=3,
                  thresholds_s=(600, 1800))
FIELDS = ("opportunities", "nearest_s", "walk_opportunities", "walk_nearest_s", "has_access")


@pytest.fixture(scope="module")
def case():
    tt = synth.timetable()
    lat = np.concatenate([synth.CLINIC_LAT, synth.HOSPITAL_LAT])
    lon = np.concatenate([synth.CLINIC_LON, synth.HOSPITAL_LON])
    dest = build_destinations(tt, lat, lon, {"clinic": np.arange(4), "hospital": np.array([4])})
    origins = build_origins(list(synth.DISTRICTS), synth.POPULATION, spacing_m=300)
    offsets = draw_offsets(tt, SPEC.draws, SPEC.seed)
    single = measure_origins(tt, origins.lat, origins.lon, dest, SPEC, offsets)
    return tt, dest, origins, offsets, single


def _same(a, b) -> None:
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))


@pytest.mark.slow
@pytest.mark.skipif(not dask_available(), reason="dask[distributed] is not installed")
def test_local_cluster_equals_single_process(case) -> None:
    tt, dest, origins, offsets, single = case
    done = []
    got, where = run_origins(tt, origins.lat, origins.lon, dest, SPEC, offsets,
                             backend="dask", workers=2, chunk=7, on_progress=done.append)
    assert "LocalCluster" in where
    assert sum(done) == origins.size
    _same(single, got)


def test_processes_and_threads_equal_single_process(case) -> None:
    tt, dest, origins, offsets, single = case
    for backend in ("processes", "threads"):
        got, _ = run_origins(tt, origins.lat, origins.lon, dest, SPEC, offsets,
                             backend=backend, workers=2, chunk=5)
        _same(single, got)


def test_unreachable_scheduler_is_a_clear_error(case) -> None:
    tt, dest, origins, offsets, _ = case
    if not dask_available():
        pytest.skip("dask[distributed] is not installed")
    with pytest.raises(InputError, match="Dask scheduler"):
        run_origins(tt, origins.lat[:3], origins.lon[:3], dest, SPEC, offsets,
                    scheduler="tcp://127.0.0.1:9", connect_timeout_s=1.0)
