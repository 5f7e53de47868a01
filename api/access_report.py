"""Writing the accessibility report: CSV, GeoJSON, equity JSON, choropleth maps, report.md.

Output is deterministic: fixed column order, districts in input order, floats rounded
(4 decimals for measures, 6 for coordinates), keys in a fixed order.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from transit.equity import DistrictMeasures, category_slug, district_columns

__all__ = ["main_measures", "write_report"]

_MEASURE_TEXT = {
    "opportunities": "opportunities reachable within",
    "share_reaching": "share of residents reaching one within",
    "nearest": "minutes to the nearest",
}


def _round(value: float, digits: int = 4) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def _round_coords(obj: Any) -> Any:
    if isinstance(obj, float):
        return round(obj, 6)
    if isinstance(obj, list | tuple):
        return [_round_coords(v) for v in obj]
    return obj


def main_measures(dm: DistrictMeasures) -> list[str]:
    """Columns that get a map: per category, opportunities at the main threshold, the
    nearest time and the minutes transit saves to the nearest."""
    main = dm.thresholds_min[len(dm.thresholds_min) // 2]
    out = []
    for c in dm.categories:
        slug = category_slug(c)
        out += [f"opportunities_{slug}_{main:g}min", f"nearest_{slug}_min",
                f"gain_nearest_{slug}_min"]
    return out


def _describe(column: str) -> str:
    """A readable title for a column name."""
    text = column
    prefix = ""
    if text.startswith("walk_"):
        prefix, text = "walking alone: ", text[5:]
    if text.startswith("gain_nearest_"):
        return f"minutes transit saves to the nearest {text[13:-4].replace('_', ' ')}"
    for key, words in _MEASURE_TEXT.items():
        if text.startswith(key + "_"):
            rest = text[len(key) + 1:]
            if key == "nearest":
                return f"{prefix}{words} {rest[:-4].replace('_', ' ')}"
            cat, _, minutes = rest.rpartition("_")
            return f"{prefix}{cat.replace('_', ' ')}: {words} {minutes.replace('min', ' min')}"
    return column


def _draw_map(path: Path, title: str, names: Sequence[str], geoms: Sequence[BaseGeometry],
              values: NDArray[np.float64], routes: Sequence[NDArray[np.float64]],
              higher_is_better: bool) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    fig, ax = plt.subplots(figsize=(9, 7.5), dpi=110)
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if hi <= lo:
        hi = lo + 1.0
    cmap = plt.get_cmap("viridis" if higher_is_better else "viridis_r")
    norm = matplotlib.colors.Normalize(lo, hi)
    for geom, value in zip(geoms, values, strict=True):
        polys = list(getattr(geom, "geoms", [geom]))
        for poly in polys:
            rings = [np.asarray(poly.exterior.coords)] + [np.asarray(r.coords)
                                                        for r in poly.interiors]
            outline = MplPath.make_compound_path(*[MplPath(r) for r in rings])
            face = cmap(norm(value)) if math.isfinite(value) else "#dddddd"
            ax.add_patch(PathPatch(outline, facecolor=face, edgecolor="#333333", linewidth=0.5,
                                   hatch=None if math.isfinite(value) else "//"))
    for line in routes:
        ax.plot(line[:, 1], line[:, 0], color="#d62728", linewidth=0.35, alpha=0.55)
    x0, y0, x1, y1 = np.asarray([g.bounds for g in geoms]).T
    ax.set_xlim(x0.min(), x1.max())
    ax.set_ylim(y0.min(), y1.max())
    ax.set_aspect(1.0 / max(math.cos(math.radians(float((y0.min() + y1.max()) / 2))), 1e-6))
    ax.set_xlabel("longitude (°)")
    ax.set_ylabel("latitude (°)")
    ax.set_title(title, fontsize=11)
    bar = fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax,
                       shrink=0.8)
    bar.set_label(title, fontsize=9)
    ax.plot([], [], color="#d62728", linewidth=0.8, label="transit routes")
    ax.legend(loc="lower left", fontsize=8, frameon=True)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def write_report(out_dir: Path, dm: DistrictMeasures, geoms: Sequence[BaseGeometry],
                 equity: Mapping[str, Any], meta: Mapping[str, Any],
                 notes: Sequence[str], routes: Sequence[NDArray[np.float64]]) -> list[Path]:
    """Write every output file into ``out_dir``; returns their paths.

    ``meta`` holds the run's parameters and figures (shown in report.md and equity.json);
    ``routes`` are ``(n, 2)`` lat/lon polylines drawn thinly on the maps.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    cols = district_columns(dm)
    table = pd.DataFrame({"name": list(dm.names)})
    for name, values in cols.items():
        table[name] = [_round(v) for v in values]
    written = [out_dir / "districts.csv", out_dir / "districts.geojson",
               out_dir / "equity.json", out_dir / "report.md"]
    table.to_csv(written[0], index=False, lineterminator="\n")
    features = []
    for i, geom in enumerate(geoms):
        props = {"name": dm.names[i], **{k: _round(v[i]) for k, v in cols.items()}}
        geometry = json.loads(json.dumps(mapping(geom)))
        geometry["coordinates"] = _round_coords(geometry["coordinates"])
        features.append({"type": "Feature", "properties": props, "geometry": geometry})
    written[1].write_text(json.dumps({"type": "FeatureCollection", "features": features},
                                     ensure_ascii=False) + "\n", encoding="utf-8")
    written[2].write_text(json.dumps({"parameters": dict(meta), **equity,
                                      "notes": list(notes)}, indent=1, ensure_ascii=False)
                          + "\n", encoding="utf-8")
    maps = []
    for column in main_measures(dm):
        path = out_dir / f"map_{column}.png"
        _draw_map(path, _describe(column), dm.names, geoms, np.asarray(cols[column], float),
                  routes, higher_is_better="nearest_" not in column or "gain_" in column)
        maps.append(path)
    written[3].write_text(_report_md(dm, cols, equity, meta, notes, maps), encoding="utf-8")
    return written + maps


def _city_mean(values: NDArray[np.float64], population: NDArray[np.float64]) -> float:
    ok = np.isfinite(values) & (population > 0)
    return float(np.average(values[ok], weights=population[ok])) if ok.any() else float("nan")


def _report_md(dm: DistrictMeasures, cols: Mapping[str, NDArray[np.float64]],
               equity: Mapping[str, Any], meta: Mapping[str, Any], notes: Sequence[str],
               maps: Sequence[Path]) -> str:
    main = dm.thresholds_min[len(dm.thresholds_min) // 2]
    measures = equity.get("measures", {})
    lines = ["# Access to opportunities by district", "",
             f"Feed `{meta.get('feed')}`, service day {meta.get('service_date')}, departing "
             f"{meta.get('depart')} over {meta.get('window_min'):g} minutes, "
             f"{meta.get('draws')} draws of the headway offsets; travel times are the "
             f"{meta.get('percentile')}th percentile over those departures. "
             f"{meta.get('origins'):,} origins about {meta.get('spacing_m'):g} m apart stand for "
             f"{equity.get('population'):,} residents in {len(dm.names)} districts.", "",
             "## City overview", "",
             "| category | opportunities | residents reaching one within "
             f"{main:g} min, by transit | on foot | mean minutes to the nearest, by transit "
             "| on foot |", "|---|---|---|---|---|---|"]
    k = len(dm.thresholds_min) // 2
    for c, name in enumerate(dm.categories):
        slug = category_slug(name)
        total = meta.get("opportunity_counts", {}).get(name, "")
        lines.append(
            f"| {name} | {total} "
            f"| {_city_mean(dm.share_reaching[:, c, k], dm.population):.0%} "
            f"| {_city_mean(dm.walk_share_reaching[:, c, k], dm.population):.0%} "
            f"| {_city_mean(cols[f'nearest_{slug}_min'], dm.population):.1f} "
            f"| {_city_mean(cols[f'walk_nearest_{slug}_min'], dm.population):.1f} |")
    beyond_key = next((key for key in equity if key.startswith("population_beyond_")), None)
    if beyond_key:
        minutes = beyond_key.removeprefix("population_beyond_")
        lines += ["", f"## Residents beyond {minutes.replace('min', ' minutes')}", "",
                  "| category | by transit | on foot only |", "|---|---|---|"]
        for slug, row in equity[beyond_key].items():
            share = row["share"]
            lines.append(f"| {slug} | {row['transit']:,} ({share:.1%}) | {row['walk']:,} |"
                         if share is not None else f"| {slug} | {row['transit']:,} | |")
        hospital = meta.get("hospital_category")
        if hospital is None:
            lines += ["", "No hospital category was given, so residents beyond 60 minutes of "
                      "a hospital are not counted (add `--select hospital=FIELD:VALUE`)."]
    lines += ["", "## How unequal is access?", "",
              "Gini: 0 when every resident has the same value, towards 1 when a few districts "
              "have it all. Palma: the best-served 10 % of residents over the worst-served "
              "40 % (for times, worst over best); 1 means equal.", "",
              "| measure | Gini | Palma |", "|---|---|---|"]
    for name in cols:
        if name in measures and (f"_{main:g}min" in name or name.endswith("_min")) \
                and not name.startswith("walk_"):
            m = measures[name]
            gini = "n/a" if m["gini"] is None else f"{m['gini']:.2f}"
            palma = ("n/a (the worst-served reach none)" if m["palma"] is None
                     else f"{m['palma']:.2f}")
            lines.append(f"| {_describe(name)} | {gini} | {palma} |")
    lines += ["", f"## Most underserved districts (opportunities within {main:g} min)", "",
              "| district | residents | " + " | ".join(dm.categories) + " |",
              "|---|---|" + "---|" * len(dm.categories)]
    for row in equity.get("underserved", []):
        lines.append(f"| {row['name']} | {row['population']:,} | "
                     + " | ".join(f"{v:g}" for v in row["opportunities"].values()) + " |")
    lines += ["", "## Maps", ""] + [f"![{m.stem}]({m.name})" for m in maps]
    lines += ["", "## Data notes", ""] + ([f"- {n}" for n in notes] or ["- none"])
    lines += ["", "## Definitions", "",
              "- *Opportunities within T*: how many facilities a resident reaches in at most "
              "T minutes door to door (walk, wait, ride, transfer, walk), counting a facility "
              "when its travel time at the chosen percentile is at most T; district values "
              "are means over residents.",
              "- *Share reaching within T*: residents whose nearest facility of the kind is at "
              "most T minutes away.",
              "- *Minutes to the nearest*: travel time to the closest facility of the kind, "
              "averaged over the district's residents.",
              "- *Walking alone*: the same when walking the whole way (straight line x 1.3 at "
              "1.2 m/s); *gain* is what transit adds.",
              "- Population is spread over each district by area (the 250 m grid cells "
              "falling in it).", ""]
    return "\n".join(lines)
