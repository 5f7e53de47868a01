"""Accessibility per district and how unequal it is across the city.

District measures are population-weighted means over the district's origins
(:mod:`transit.access_origins`) of the per-origin measures (:mod:`transit.access`):

* ``opportunities_<c>_<T>min``: mean number of opportunities of category ``c`` a resident
  reaches within ``T`` minutes;
* ``share_reaching_<c>_<T>min``: share of residents (0-1) who reach at least one within
  ``T`` minutes;
* ``nearest_<c>_min``: mean travel time (minutes) to the nearest one;
* ``walk_...``: the same by walking alone; ``gain_...``: what transit adds (more
  opportunities, a higher share, minutes saved to the nearest).

Equity across districts, each district weighted by its population:

* **Gini**: mean absolute difference between two residents' values over twice the mean
  (0 = everyone the same, 1 = one district has everything);
* **Palma-style ratio**: mean value of the best-served 10 % of residents over that of the
  worst-served 40 % (for times, worst over best, so that 1 = equal and larger = more
  unequal); residents are ranked by their district's value and a district that straddles
  a cut is split;
* **underserved districts**: lowest mean percentile rank of their opportunities across
  categories at the main threshold;
* **population beyond X minutes**: residents (origins) whose nearest-opportunity time of a
  category exceeds X minutes.

References
----------
C. Gini, "Variabilità e mutabilità", 1912; the weighted form follows
A. Lerman and S. Yitzhaki, Economics Letters 15, 1984.
J. G. Palma, "Homogeneous middles vs. heterogeneous tails", Development and Change 42, 2011.
K. Lucas, B. van Wee, K. Maat, "A method to evaluate equitable accessibility",
Transportation 43, 2016 (Gini and Palma for accessibility).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from transit.access import OriginMeasures
from transit.access_origins import Origins

__all__ = [
    "DistrictMeasures",
    "aggregate_districts",
    "category_slug",
    "district_columns",
    "equity_summary",
    "palma_ratio",
    "population_beyond",
    "weighted_gini",
]


def category_slug(name: str) -> str:
    """A column-safe category name: lower case, runs of other characters become ``_``."""
    slug = re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")
    return slug or "category"


@dataclass(frozen=True)
class DistrictMeasures:
    """Population-weighted measures per district; shapes ``(n_districts, C[, K])``.

    ``nearest_min``/``walk_nearest_min`` are minutes; ``share_*`` fractions 0-1;
    ``with_stop`` the share of residents with a stop within the walking limit.
    ``zero_population`` marks districts averaged by area because nobody lives there.
    """

    names: tuple[str, ...]
    population: NDArray[np.float64]
    origins: NDArray[np.int64]
    categories: tuple[str, ...]
    thresholds_min: tuple[float, ...]
    opportunities: NDArray[np.float64]
    share_reaching: NDArray[np.float64]
    nearest_min: NDArray[np.float64]
    walk_opportunities: NDArray[np.float64]
    walk_share_reaching: NDArray[np.float64]
    walk_nearest_min: NDArray[np.float64]
    with_stop: NDArray[np.float64]
    zero_population: NDArray[np.bool_]


def aggregate_districts(origins: Origins, measures: OriginMeasures, names: tuple[str, ...],
                        categories: tuple[str, ...], thresholds_s: tuple[int, ...]
                        ) -> DistrictMeasures:
    """Population-weighted means of the origin measures per district.

    A district whose population is zero is averaged over its origins with equal weights
    (and marked in ``zero_population``) rather than reported as zeros.
    """
    n_d = len(names)
    thr = np.asarray(thresholds_s, np.int64)
    reach = measures.nearest_s[:, :, None] <= thr[None, None, :]
    walk_reach = measures.walk_nearest_s[:, :, None] <= thr[None, None, :]
    w = origins.population.copy()
    pop = np.asarray(np.bincount(origins.district, weights=w, minlength=n_d), np.float64)
    count = np.bincount(origins.district, minlength=n_d).astype(np.int64)
    zero = pop <= 0
    w = np.where(zero[origins.district], 1.0, w)
    denom = np.bincount(origins.district, weights=w, minlength=n_d)
    denom = np.where(denom > 0, denom, 1.0)

    def mean(values: NDArray[np.generic]) -> NDArray[np.float64]:
        v = np.asarray(values, np.float64)
        flat = v.reshape(v.shape[0], -1)
        out = np.zeros((n_d, flat.shape[1]))
        np.add.at(out, origins.district, flat * w[:, None])
        return (out / denom[:, None]).reshape((n_d, *v.shape[1:]))

    empty = count == 0
    nan_if_empty = np.where(empty, np.nan, 1.0)
    return DistrictMeasures(
        names=names, population=pop, origins=count, categories=categories,
        thresholds_min=tuple(float(t) / 60 for t in thresholds_s),
        opportunities=mean(measures.opportunities) * nan_if_empty[:, None, None],
        share_reaching=mean(reach) * nan_if_empty[:, None, None],
        nearest_min=mean(measures.nearest_s / 60.0) * nan_if_empty[:, None],
        walk_opportunities=mean(measures.walk_opportunities) * nan_if_empty[:, None, None],
        walk_share_reaching=mean(walk_reach) * nan_if_empty[:, None, None],
        walk_nearest_min=mean(measures.walk_nearest_s / 60.0) * nan_if_empty[:, None],
        with_stop=mean(measures.has_access) * nan_if_empty, zero_population=zero)


def _t(minutes: float) -> str:
    return f"{minutes:g}min"


def district_columns(dm: DistrictMeasures) -> dict[str, NDArray[np.float64]]:
    """The numeric columns of ``districts.csv`` in their fixed order (name not included).

    Per category ``c`` and threshold ``T``: ``opportunities_c_Tmin``,
    ``share_reaching_c_Tmin``, ``nearest_c_min``, then the ``walk_`` equivalents and the
    ``gain_`` columns (transit minus walking; for the nearest time, minutes saved).
    """
    cols: dict[str, NDArray[np.float64]] = {
        "population": dm.population, "origins": dm.origins.astype(np.float64),
        "share_with_stop_nearby": dm.with_stop}
    slugs = [category_slug(c) for c in dm.categories]
    for prefix, opp, share, near in (("", dm.opportunities, dm.share_reaching, dm.nearest_min),
                                     ("walk_", dm.walk_opportunities, dm.walk_share_reaching,
                                      dm.walk_nearest_min)):
        for c, slug in enumerate(slugs):
            for k, minutes in enumerate(dm.thresholds_min):
                cols[f"{prefix}opportunities_{slug}_{_t(minutes)}"] = opp[:, c, k]
            for k, minutes in enumerate(dm.thresholds_min):
                cols[f"{prefix}share_reaching_{slug}_{_t(minutes)}"] = share[:, c, k]
            cols[f"{prefix}nearest_{slug}_min"] = near[:, c]
    for c, slug in enumerate(slugs):
        for k, minutes in enumerate(dm.thresholds_min):
            cols[f"gain_opportunities_{slug}_{_t(minutes)}"] = (
                dm.opportunities[:, c, k] - dm.walk_opportunities[:, c, k])
            cols[f"gain_share_reaching_{slug}_{_t(minutes)}"] = (
                dm.share_reaching[:, c, k] - dm.walk_share_reaching[:, c, k])
        cols[f"gain_nearest_{slug}_min"] = dm.walk_nearest_min[:, c] - dm.nearest_min[:, c]
    return cols


def weighted_gini(values: NDArray[np.float64], weights: NDArray[np.float64]) -> float | None:
    """Population-weighted Gini coefficient; None when undefined (no weight, zero mean)."""
    x = np.asarray(values, np.float64)
    w = np.asarray(weights, np.float64)
    ok = np.isfinite(x) & (w > 0)
    x, w = x[ok], w[ok]
    total = w.sum()
    if total <= 0:
        return None
    mu = float((w * x).sum() / total)
    if mu <= 0:
        return None
    diff = np.abs(x[:, None] - x[None, :])
    return float((w[:, None] * w[None, :] * diff).sum() / (2.0 * total * total * mu))


def _slice_mean(x: NDArray[np.float64], w: NDArray[np.float64], lo: float, hi: float) -> float:
    """Mean of ``x`` over the residents ranked in ``[lo, hi)`` (fractions of all)."""
    total = w.sum()
    end = np.cumsum(w) / total
    start = end - w / total
    part = np.clip(np.minimum(end, hi) - np.maximum(start, lo), 0.0, None)
    return float((part * x).sum() / part.sum())


def palma_ratio(values: NDArray[np.float64], weights: NDArray[np.float64], *,
                higher_is_better: bool = True) -> float | None:
    """Best-served 10 % of residents over the worst-served 40 % (see the module docstring).

    None when undefined: no population, or a zero denominator (e.g. the worst-served 40 %
    reach no opportunity at all, which the report states in words).
    """
    x = np.asarray(values, np.float64)
    w = np.asarray(weights, np.float64)
    ok = np.isfinite(x) & (w > 0)
    x, w = x[ok], w[ok]
    if w.sum() <= 0:
        return None
    order = np.argsort(x if higher_is_better else -x, kind="stable")   # worst first
    x, w = x[order], w[order]
    worst = _slice_mean(x, w, 0.0, 0.4)
    best = _slice_mean(x, w, 0.9, 1.0)
    num, den = (best, worst) if higher_is_better else (worst, best)
    return None if den <= 0 else float(num / den)


def population_beyond(origins: Origins, nearest_s: NDArray[np.int32],
                      minutes: float) -> NDArray[np.float64]:
    """Residents per category whose nearest-opportunity time exceeds ``minutes``."""
    beyond = nearest_s > minutes * 60
    return np.asarray((origins.population[:, None] * beyond).sum(axis=0), np.float64)


def _underserved(dm: DistrictMeasures, main: int, count: int) -> list[dict[str, object]]:
    live = np.flatnonzero((dm.population > 0) & np.isfinite(dm.opportunities[:, 0, main]))
    if live.size == 0:
        return []
    ranks = np.zeros((live.size, len(dm.categories)))
    for c in range(len(dm.categories)):
        v = dm.opportunities[live, c, main]
        # Percentile rank: share of districts with strictly less, ties share the rank.
        ranks[:, c] = (v[None, :] < v[:, None]).sum(axis=1) / max(live.size - 1, 1)
    score = ranks.mean(axis=1)
    order = sorted(range(live.size), key=lambda i: (score[i], dm.names[live[i]]))
    out = []
    for i in order[:count]:
        d = int(live[i])
        out.append({
            "name": dm.names[d], "population": round(float(dm.population[d])),
            "rank_score": round(float(score[i]), 4),
            "opportunities": {category_slug(c): round(float(dm.opportunities[d, ci, main]), 2)
                              for ci, c in enumerate(dm.categories)},
            "nearest_min": {category_slug(c): round(float(dm.nearest_min[d, ci]), 1)
                            for ci, c in enumerate(dm.categories)},
        })
    return out


def equity_summary(dm: DistrictMeasures, origins: Origins, measures: OriginMeasures, *,
                   beyond_min: float = 60.0, underserved: int = 10) -> dict[str, object]:
    """City-wide equity figures as JSON-ready data (rounded for stable output).

    The main threshold (for the underserved list) is the middle one of the thresholds.
    """
    cols = district_columns(dm)
    main = len(dm.thresholds_min) // 2
    per_measure: dict[str, dict[str, object]] = {}
    for name, values in cols.items():
        if name in ("population", "origins") or name.startswith("gain_"):
            continue
        higher = "nearest_" not in name
        gini = weighted_gini(values, dm.population)
        palma = palma_ratio(values, dm.population, higher_is_better=higher)
        per_measure[name] = {"gini": None if gini is None else round(gini, 4),
                             "palma": None if palma is None else round(palma, 3),
                             "higher_is_better": higher}
    beyond = population_beyond(origins, measures.nearest_s, beyond_min)
    walk_beyond = population_beyond(origins, measures.walk_nearest_s, beyond_min)
    total = float(origins.population.sum())
    return {
        "population": round(total),
        "districts": len(dm.names),
        "main_threshold_min": dm.thresholds_min[main],
        "measures": per_measure,
        "underserved": _underserved(dm, main, underserved),
        f"population_beyond_{beyond_min:g}min": {
            category_slug(c): {
                "transit": round(float(beyond[i])), "walk": round(float(walk_beyond[i])),
                "share": round(float(beyond[i]) / total, 4) if total > 0 else None}
            for i, c in enumerate(dm.categories)},
    }
