"""Shared helpers for the benchmarks: paths, peer virtual environments, worker calls, scoring.

Peer tools (ferrobus, pyraptor, trackintel) never enter the project's own environment: each
lives in its own virtual environment under ``bench/.peers/`` (gitignored) and runs as a
subprocess that exchanges JSON (or CSV) files with the bench, so the main ``.venv`` stays
clean and a peer that crashes cannot take the bench down with it.

Public helpers
--------------
``ensure_peer_venvs(names=None) -> dict[str, Path]``
    create the peers' venvs if missing and return their python executables.
``run_worker(venv, script, request, timeout_s=None) -> list[dict]``
    run a worker script in a peer venv with a JSON request; returns its JSON-lines output.
``score_stops(predicted_latlon, truth_latlon, radius_m=30.0) -> dict``
    recall / precision / F1 of predicted stop positions against true ones.
``haversine_m(lat1, lon1, lat2, lon2, radius_m=EARTH_RADIUS_M)``
    great-circle distance in metres (vectorised).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
PEERS_DIR = REPO / "bench" / ".peers"
CACHE_DIR = PEERS_DIR / "cache"
SHARED_DATA = Path(os.environ.get("TRANSIT_SHARED_DATA", REPO.parent / "shared" / "data"))

#: Mean Earth radius (IUGG), metres; used for "straight-line" walking distances.
EARTH_RADIUS_M = 6_371_008.8

#: Peer venvs: directory name under bench/.peers and the pip requirements it needs.
#: pyraptor pins numpy<2, so it gets its own venv; trackintel pulls geopandas/SQLAlchemy.
PEER_VENVS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ferrobus": ("venv", ("ferrobus==0.2.1", "osmium")),
    "pyraptor": ("venv-pyraptor", ("pyraptor==1.3.10", "numpy<2", "attrs")),
    "trackintel": ("venv-trackintel", ("trackintel==1.4.2", "scikit-learn")),
}


def venv_python(name: str) -> Path:
    """Python executable of the peer venv ``name`` (a key of ``PEER_VENVS``)."""
    dirname, _ = PEER_VENVS[name]
    return PEERS_DIR / dirname / "bin" / "python"


def _base_python() -> str:
    """The interpreter the current venv was made from (so peer venvs get the same Python)."""
    base = getattr(sys, "_base_executable", None) or sys.executable
    return str(base)


def ensure_peer_venvs(names: Iterable[str] | None = None, *, quiet: bool = True) -> dict[str, Path]:
    """Create the peers' virtual environments under ``bench/.peers/`` if they are missing.

    A venv counts as ready when its python runs and imports the peer package; otherwise it
    is (re)created and ``pip install``-ed. pip works offline here through the configured
    index; elsewhere it needs network access once.

    Parameters
    ----------
    names
        Keys of ``PEER_VENVS`` (``"ferrobus"``, ``"pyraptor"``, ``"trackintel"``);
        all of them when None.
    quiet
        Pass ``-q`` to pip.

    Returns
    -------
    dict
        name -> path of that venv's python executable.
    """
    wanted = list(PEER_VENVS) if names is None else list(names)
    out: dict[str, Path] = {}
    for name in wanted:
        if name not in PEER_VENVS:
            raise ValueError(f"unknown peer venv {name!r}; choose from {sorted(PEER_VENVS)}")
        dirname, requirements = PEER_VENVS[name]
        python = venv_python(name)
        if not _imports_ok(python, name):
            env_dir = PEERS_DIR / dirname
            PEERS_DIR.mkdir(parents=True, exist_ok=True)
            if not python.exists():
                print(f"[peers] creating {env_dir}", file=sys.stderr)
                # Use the base interpreter so that running from inside .venv does not nest venvs.
                subprocess.run([_base_python(), "-m", "venv", str(env_dir)], check=True)
            cmd = [str(python), "-m", "pip", "install", *(["-q"] if quiet else []),
                   *requirements]
            print(f"[peers] {' '.join(cmd)}", file=sys.stderr)
            subprocess.run(cmd, check=True)
            if not _imports_ok(python, name):
                raise RuntimeError(f"peer venv {env_dir} was installed but cannot import {name}")
        out[name] = python
    return out


def _imports_ok(python: Path, module: str) -> bool:
    if not python.exists():
        return False
    code = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    probe = subprocess.run([str(python), "-c", code], capture_output=True)
    return probe.returncode == 0


def run_worker(
    python: Path,
    script: Path,
    request: dict[str, Any],
    *,
    timeout_s: float | None = None,
    env: dict[str, str] | None = None,
) -> tuple[list[dict[str, Any]], int, str]:
    """Run ``script`` with ``python`` (a peer venv), passing ``request`` as a JSON file.

    The worker prints one JSON object per line on stdout; lines that are not JSON are
    ignored. Returns ``(records, returncode, stderr_tail)`` so callers can resume after
    a crash (a negative return code means the worker died on a signal, e.g. a Rust abort).
    ``env`` adds environment variables (e.g. ``RAYON_NUM_THREADS``) to the worker's.
    """
    with tempfile.TemporaryDirectory(prefix="peer-") as tmp:
        req_path = Path(tmp) / "request.json"
        req_path.write_text(json.dumps(request))
        try:
            proc = subprocess.run(
                [str(python), str(script), str(req_path)],
                capture_output=True, text=True, timeout=timeout_s, check=False,
                env={**os.environ, **(env or {})},
            )
            stdout, stderr, code = proc.stdout, proc.stderr, proc.returncode
        except subprocess.TimeoutExpired as exc:
            stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            stderr = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
            code = -9
    records: list[dict[str, Any]] = []
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records, code, stderr[-2000:]


def haversine_m(
    lat1: np.ndarray | float,
    lon1: np.ndarray | float,
    lat2: np.ndarray | float,
    lon2: np.ndarray | float,
    radius_m: float = EARTH_RADIUS_M,
) -> np.ndarray:
    """Great-circle distance in metres between points given in degrees (vectorised)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return np.asarray(2 * radius_m * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


def _as_latlon(points: Sequence[tuple[float, float]] | np.ndarray) -> np.ndarray:
    arr = np.asarray(points, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, 2))
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"expected (lat, lon) pairs, got an array of shape {arr.shape}")
    return arr


def score_stops(
    predicted_latlon: Sequence[tuple[float, float]] | np.ndarray,
    truth_latlon: Sequence[tuple[float, float]] | np.ndarray,
    radius_m: float = 30.0,
) -> dict[str, float]:
    """Score predicted stop positions against true ones within a matching radius.

    recall = share of truth points with a predicted stop within ``radius_m``;
    precision = share of predicted stops with a truth point within ``radius_m``;
    f1 = their harmonic mean. Matching is not one-to-one (several truth points of the same
    stop, e.g. repeated field-team waypoints, may all be recalled by one predicted stop).

    Distances are great-circle (haversine) distances, via scikit-learn's ``BallTree``.

    Parameters
    ----------
    predicted_latlon, truth_latlon
        Sequences of (lat, lon) pairs in degrees (WGS84).
    radius_m
        Matching radius in metres.

    Returns
    -------
    dict
        ``recall``, ``precision``, ``f1`` (0..1) and the counts ``n_predicted``,
        ``n_truth``, ``n_truth_matched``, ``n_predicted_matched``.
    """
    from sklearn.neighbors import BallTree

    pred = _as_latlon(predicted_latlon)
    truth = _as_latlon(truth_latlon)
    r = radius_m / EARTH_RADIUS_M
    truth_hit = 0
    pred_hit = 0
    if len(pred) and len(truth):
        pred_tree = BallTree(np.radians(pred), metric="haversine")
        truth_tree = BallTree(np.radians(truth), metric="haversine")
        truth_hit = int((pred_tree.query_radius(np.radians(truth), r, count_only=True) > 0).sum())
        pred_hit = int((truth_tree.query_radius(np.radians(pred), r, count_only=True) > 0).sum())
    recall = truth_hit / len(truth) if len(truth) else 0.0
    precision = pred_hit / len(pred) if len(pred) else 0.0
    f1 = 2 * recall * precision / (recall + precision) if recall + precision > 0 else 0.0
    return {
        "recall": recall,
        "precision": precision,
        "f1": f1,
        "n_predicted": float(len(pred)),
        "n_truth": float(len(truth)),
        "n_truth_matched": float(truth_hit),
        "n_predicted_matched": float(pred_hit),
    }


def percentile_ms(values: Sequence[float], q: float) -> float:
    """Percentile ``q`` (0..100) of a list of milliseconds; NaN when empty."""
    arr = np.asarray([v for v in values if v is not None], dtype=np.float64)
    return float(np.percentile(arr, q)) if arr.size else float("nan")
