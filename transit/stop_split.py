"""Stop clusters refined by the dwells' geometry: along-track splits and scatter checks.

A fixed merge radius cannot tell one stop whose dwells scatter from two stops 15-40 m apart.
These functions look at the dwells of one cluster against the position noise of the phones
that recorded them (estimated per device from all its dwells): a cluster whose dwells form
two groups along the road, further apart than the noise explains, is split
(:func:`split_along_track`); a weakly supported cluster whose dwells scatter more than the
noise explains is traffic held at different spots, not a stop (:func:`break_scattered`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["break_scattered", "dwell_noise_m", "split_along_track"]


def _best_split(u: NDArray[np.float64], w: NDArray[np.float64]) -> tuple[int, float, float]:
    """Best two-group split of sorted ``u`` with weights ``w`` (weighted Jenks/Fisher:
    least within-group squares). Returns the size of the lower group, the gap between the
    groups' weighted means and that gap in standard errors (weights are 1 / variance)."""
    n = len(u)
    cw, cs, cq = np.cumsum(w), np.cumsum(w * u), np.cumsum(w * u * u)
    w1, s1, q1 = cw[:-1], cs[:-1], cq[:-1]
    w2, s2, q2 = cw[-1] - w1, cs[-1] - s1, cq[-1] - q1
    within = (q1 - s1 * s1 / w1) + (q2 - s2 * s2 / w2)
    b = int(np.argmin(within))
    gap = float(s2[b] / w2[b] - s1[b] / w1[b])
    z = gap / float(np.sqrt(1.0 / w1[b] + 1.0 / w2[b]))
    return b + 1 if n > 1 else 0, gap, z


def dwell_noise_m(x_m: NDArray[np.float64], y_m: NDArray[np.float64],
                  label: NDArray[np.int64], device: NDArray[np.int64], *,
                  min_dwells: int = 5) -> NDArray[np.float64]:
    """Per-dwell position noise (m, one axis), estimated per device.

    A dwell's distance to the median position of its cluster is, for 2-D Gaussian noise of
    ``sigma`` per axis, Rayleigh distributed with median ``1.1774 * sigma``; the median
    over a device's dwells (in clusters of three or more) gives that device's sigma. A device
    with fewer than ``min_dwells`` such dwells gets the median over all devices.
    """
    n = len(x_m)
    out = np.full(n, np.nan)
    if n == 0:
        return out
    k = int(label.max()) + 1
    size = np.bincount(label, minlength=k)
    order = np.argsort(label, kind="stable")
    starts = np.r_[0, np.cumsum(size)[:-1]]
    mx, my = np.zeros(k), np.zeros(k)
    for c in np.flatnonzero(size >= 3).tolist():
        m = order[starts[c]:starts[c] + size[c]]
        mx[c], my[c] = np.median(x_m[m]), np.median(y_m[m])
    ok = size[label] >= 3
    r = np.hypot(x_m - mx[label], y_m - my[label])
    rayleigh_median = float(np.sqrt(2.0 * np.log(2.0)))
    overall = float(np.median(r[ok])) / rayleigh_median if ok.any() else 10.0
    for d in np.unique(device).tolist():
        mine = device == d
        use = mine & ok
        out[mine] = (float(np.median(r[use])) / rayleigh_median if use.sum() >= min_dwells
                     else overall)
    return np.maximum(out, 1.0)


def split_along_track(x_m: NDArray[np.float64], y_m: NDArray[np.float64],
                      heading_deg: NDArray[np.float64], label: NDArray[np.int64],
                      trace: NDArray[np.int64], sigma_m: NDArray[np.float64], *,
                      min_m: float = 15.0, min_z: float = 5.0, min_traces: int = 2,
                      place_sd_m: float = 3.0, max_rounds: int = 3) -> NDArray[np.int64]:
    """Split clusters whose dwells form two groups along the direction of travel.

    Two stops of one direction 15-40 m apart end up in one cluster (the DBSCAN chain and
    the merge of close parts join them), yet their dwells lie in two groups along the road.
    Per cluster, the dwells are projected on its mean heading (1-D along-track positions),
    weighted by ``1 / (sigma_m**2 + place_sd_m**2)`` (position noise of the dwell's device,
    plus vehicles halting a little before or after the usual place), and the best two-group
    split is found (weighted Jenks natural breaks with two classes, i.e. Fisher's exact 1-D
    optimum). The cluster is split when the group means are at least ``min_m`` apart, that
    gap is at least ``min_z`` standard errors of the difference of the two weighted means
    (so two stray dwells of noisy phones do not make a stop of their own), and each group
    holds dwells of ``min_traces`` distinct traces. Repeated up to ``max_rounds`` times, so
    three stops in a row separate.

    Returns
    -------
    label
        New cluster numbers (0..k-1; clusters that are not split keep their members).

    References
    ----------
    Fisher, W. D. (1958). On grouping for maximum homogeneity. JASA 53(284), 789-798.
    Jenks, G. F. (1967). The data model concept in statistical mapping. International
    Yearbook of Cartography 7, 186-190.
    """
    lab = np.asarray(label, np.int64).copy()
    sin_h = np.sin(np.radians(heading_deg))
    cos_h = np.cos(np.radians(heading_deg))
    weight = 1.0 / (sigma_m ** 2 + place_sd_m ** 2)
    for _ in range(max_rounds):
        nxt = int(lab.max()) + 1 if len(lab) else 0
        order = np.argsort(lab, kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(lab[order]) != 0])
        ends = np.r_[starts[1:], len(order)]
        changed = False
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            members = order[a:b]
            if len(members) < 2 * min_traces:
                continue
            hs, hc = np.nansum(sin_h[members]), np.nansum(cos_h[members])
            norm = float(np.hypot(hs, hc))
            if norm < 0.5 * len(members):  # no clear direction of travel
                continue
            u = (x_m[members] * hs + y_m[members] * hc) / norm
            srt = np.argsort(u, kind="stable")
            k, gap, z = _best_split(u[srt], weight[members[srt]])
            if gap < min_m or z < min_z:
                continue
            lo, hi = members[srt[:k]], members[srt[k:]]
            if (len(np.unique(trace[lo])) < min_traces
                    or len(np.unique(trace[hi])) < min_traces):
                continue
            lab[hi] = nxt
            nxt += 1
            changed = True
        if not changed:
            break
    _, lab = np.unique(lab, return_inverse=True)
    return np.asarray(lab, np.int64)


def break_scattered(x_m: NDArray[np.float64], y_m: NDArray[np.float64],
                    label: NDArray[np.int64], trace: NDArray[np.int64],
                    sigma_m: NDArray[np.float64], *, max_chi2: float = 5.0,
                    max_traces: int = 2, place_sd_m: float = 3.0) -> NDArray[np.int64]:
    """Break up weakly supported clusters whose dwells are not at one place.

    Vehicles halt at a stop within a few metres of one place, so the dwells of a stop
    scatter only as much as their phones' noise (``sigma_m`` per axis, plus ``place_sd_m``).
    Traffic holds (queues, congestion) happen anywhere along a block: two rides held 20-40 m
    apart still fall in one cluster. For clusters of at most ``max_traces`` distinct traces,
    the reduced chi-square of the dwells about their weighted mean,
    ``sum(w * |p - mean|**2) / (2 * (n - 1))`` with ``w = 1 / (sigma_m**2 + place_sd_m**2)``,
    is about 1 for a stop; above ``max_chi2`` each dwell becomes its own cluster (and the
    traffic filter then judges it as a one-trace dwell).

    Returns
    -------
    label
        New cluster numbers (0..k-1).
    """
    lab = np.asarray(label, np.int64)
    n = len(lab)
    if n == 0:
        return lab.copy()
    k = int(lab.max()) + 1
    w = 1.0 / (sigma_m ** 2 + place_sd_m ** 2)
    sw = np.bincount(lab, w, k)
    mx, my = np.bincount(lab, w * x_m, k) / sw, np.bincount(lab, w * y_m, k) / sw
    chi = np.bincount(lab, w * ((x_m - mx[lab]) ** 2 + (y_m - my[lab]) ** 2), k)
    size = np.bincount(lab, minlength=k)
    red = chi / np.maximum(2 * (size - 1), 1)
    pairs = np.unique(np.c_[lab, trace], axis=0)
    n_traces = np.bincount(pairs[:, 0], minlength=k)
    broken = (size >= 2) & (n_traces <= max_traces) & (red > max_chi2)
    out = lab.copy()
    members = np.flatnonzero(broken[lab])
    out[members] = k + np.arange(len(members))
    _, out = np.unique(out, return_inverse=True)
    return np.asarray(out, np.int64)
