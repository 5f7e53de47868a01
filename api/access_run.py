"""Running the per-origin work of ``transit access`` on one core, many, or a Dask cluster.

The origins are split into consecutive blocks (tasks); every task computes the measures of
its origins with the same timetable, opportunities and Monte Carlo offsets, and the blocks
are put back in order, so the result is identical to a single-process run whatever the
split. Backends:

* ``"dask"``: Dask distributed: the scheduler at ``scheduler`` (``tcp://HOST:PORT``), or a
  ``LocalCluster`` of ``workers`` processes on this machine; the timetable and the
  opportunities are scattered to the workers once;
* ``"processes"``: :class:`concurrent.futures.ProcessPoolExecutor` (what ``"dask"`` falls
  back to when Dask is not installed);
* ``"threads"``: threads in this process (the compiled loops release the GIL).
"""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from transit.access import AccessSpec, Destinations, OriginMeasures, measure_origins
from transit.errors import InputError
from transit.timetable import Timetable

__all__ = ["Backend", "dask_available", "run_origins"]

Backend = Literal["dask", "processes", "threads"]

_WORKER: dict[str, Any] = {}


def dask_available() -> bool:
    """True when ``dask.distributed`` can be imported."""
    return importlib.util.find_spec("distributed") is not None


def _blocks(n: int, workers: int, chunk: int | None) -> list[tuple[int, int]]:
    size = chunk or max(16, min(512, -(-n // max(1, workers * 8))))
    return [(a, min(a + size, n)) for a in range(0, n, size)]


def _task(tt: Timetable, dest: Destinations, spec: AccessSpec, offsets: NDArray[np.int32],
          lat: NDArray[np.float64], lon: NDArray[np.float64]) -> OriginMeasures:
    """One block of origins (the unit of work sent to a worker)."""
    return measure_origins(tt, lat, lon, dest, spec, offsets)


def _init_process(tt: Timetable, dest: Destinations, spec: AccessSpec,
                  offsets: NDArray[np.int32]) -> None:
    _WORKER.update(tt=tt, dest=dest, spec=spec, offsets=offsets)


def _process_task(lat: NDArray[np.float64], lon: NDArray[np.float64]) -> OriginMeasures:
    return _task(_WORKER["tt"], _WORKER["dest"], _WORKER["spec"], _WORKER["offsets"], lat, lon)


def run_origins(tt: Timetable, lat: NDArray[np.float64], lon: NDArray[np.float64],
                dest: Destinations, spec: AccessSpec, offsets_s: NDArray[np.int32], *,
                backend: Backend = "threads", workers: int = 2, scheduler: str | None = None,
                chunk: int | None = None, connect_timeout_s: float = 10.0,
                on_progress: Callable[[int], None] | None = None) -> tuple[OriginMeasures, str]:
    """Measures of every origin, split into tasks; returns them and what ran them.

    Parameters
    ----------
    backend, workers, scheduler
        See the module docstring. ``scheduler`` implies ``"dask"``. With one worker and no
        scheduler everything runs in this process.
    chunk
        Origins per task (default: about eight tasks per worker, 16-512 origins each).
    connect_timeout_s
        How long to wait for the Dask scheduler, seconds.
    on_progress
        Called with the number of origins finished.

    Raises
    ------
    InputError
        ``scheduler`` given but Dask is not installed, or unreachable.
    """
    if workers < 1:
        raise InputError(f"{workers} workers", where="--workers", fix="give 1 or more")
    if scheduler is not None:
        backend = "dask"
        if not dask_available():
            raise InputError("--scheduler needs Dask distributed, which is not installed",
                             fix='pip install "dask[distributed]" or drop --scheduler')
    lat = np.asarray(lat, np.float64)
    lon = np.asarray(lon, np.float64)
    if backend == "dask" and not dask_available():
        backend = "processes"
    if scheduler is None and (workers == 1 or lat.size == 0):
        return (measure_origins(tt, lat, lon, dest, spec, offsets_s, on_progress=on_progress),
                "1 process")
    if backend == "threads":
        return (measure_origins(tt, lat, lon, dest, spec, offsets_s, threads=workers,
                                on_progress=on_progress), f"{workers} threads")
    blocks = _blocks(lat.size, workers, chunk)
    if backend == "processes":
        parts: dict[int, OriginMeasures] = {}
        with ProcessPoolExecutor(workers, initializer=_init_process,
                                 initargs=(tt, dest, spec, offsets_s)) as pool:
            futures = {pool.submit(_process_task, lat[a:b], lon[a:b]): i
                       for i, (a, b) in enumerate(blocks)}
            for future in as_completed(futures):
                i = futures[future]
                parts[i] = future.result()
                if on_progress is not None:
                    on_progress(blocks[i][1] - blocks[i][0])
        return (OriginMeasures.concat([parts[i] for i in range(len(blocks))]),
                f"{workers} processes, {len(blocks)} tasks")
    return _run_dask(tt, lat, lon, dest, spec, offsets_s, blocks, workers, scheduler,
                     connect_timeout_s, on_progress)


def _run_dask(tt: Timetable, lat: NDArray[np.float64], lon: NDArray[np.float64],
              dest: Destinations, spec: AccessSpec, offsets_s: NDArray[np.int32],
              blocks: list[tuple[int, int]], workers: int, scheduler: str | None,
              timeout_s: float, on_progress: Callable[[int], None] | None
              ) -> tuple[OriginMeasures, str]:
    from distributed import Client, LocalCluster
    from distributed import as_completed as dask_completed

    cluster = None
    try:
        if scheduler is None:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
            where = f"Dask LocalCluster of {workers} workers"
        else:
            client = Client(scheduler, timeout=f"{timeout_s}s")
            where = f"Dask scheduler {scheduler}"
    except OSError as exc:
        if cluster is not None:
            cluster.close()
        raise InputError(f"cannot reach the Dask scheduler ({exc})", where=scheduler,
                         fix="start one with `dask scheduler` or drop --scheduler") from None
    try:
        shared = client.scatter([tt, dest, offsets_s], broadcast=True)
        run_id = uuid.uuid4().hex[:12]   # task keys unique to this run on a shared scheduler
        futures = [client.submit(_task, shared[0], shared[1], spec, shared[2], lat[a:b],
                                 lon[a:b], key=f"access-{run_id}-{i}", pure=False)
                   for i, (a, b) in enumerate(blocks)]
        index = {f.key: i for i, f in enumerate(futures)}
        parts: dict[int, OriginMeasures] = {}
        for future in dask_completed(futures):
            i = index[future.key]
            parts[i] = future.result()
            if on_progress is not None:
                on_progress(blocks[i][1] - blocks[i][0])
        n_workers = len(client.scheduler_info().get("workers", {}))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return (OriginMeasures.concat([parts[i] for i in range(len(blocks))]),
            f"{where} ({n_workers} workers, {len(blocks)} tasks)")
