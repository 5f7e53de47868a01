"""Reading the inputs of ``transit access``: district polygons and opportunity points.

Thin parsing at the edge: files become plain arrays and shapely geometries in WGS84 that
:mod:`transit.access` and :mod:`transit.equity` use. Problems that still leave usable data
(an invalid polygon repaired, a row without coordinates skipped, a point outside every
district) come back as ``notes`` (one readable line each) for the report; unusable input
raises a :class:`transit.errors.TransitError` saying what, where and how to fix it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from transit.errors import FormatError, InputError

__all__ = ["Districts", "Opportunities", "parse_select", "read_districts",
           "read_opportunities"]

_NAME_FIELDS = ("name", "ward", "district", "NAME", "Name")
_LAT = ("lat", "latitude", "y", "stop_lat")
_LON = ("lon", "lng", "longitude", "long", "x", "stop_lon")


@dataclass(frozen=True)
class Districts:
    """District polygons (WGS84, valid), names and populations, plus notes for the report."""

    names: tuple[str, ...]
    geometries: tuple[BaseGeometry, ...]
    population: NDArray[np.float64]
    repaired: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Opportunities:
    """Opportunity points (WGS84) and, per category, the indices of its points."""

    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    members: dict[str, NDArray[np.intp]]
    notes: tuple[str, ...] = field(default=())


def _load_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise InputError("file not found", where=str(path), fix="check the path") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FormatError(f"not valid GeoJSON ({exc})", where=str(path),
                          fix="give a GeoJSON FeatureCollection") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise FormatError("not a GeoJSON FeatureCollection", where=str(path),
                          fix="give a FeatureCollection of (Multi)Polygon features")
    return data


def _to_wgs84(data: dict[str, Any], path: Path, crs: str | None) -> Transformer | None:
    """A transformer to WGS84 lon/lat when the file (or ``crs``) says it is projected."""
    name = crs
    if name is None:
        member = data.get("crs") or {}
        name = (member.get("properties") or {}).get("name") if isinstance(member, dict) else None
    if not name:
        return None
    try:
        source = CRS.from_user_input(name)
    except CRSError:
        raise FormatError(f"unknown coordinate reference system {name!r}", where=str(path),
                          fix="give an EPSG code, e.g. --crs EPSG:32737") from None
    if source.equals(CRS.from_epsg(4326), ignore_axis_order=True):
        return None
    return Transformer.from_crs(source, "EPSG:4326", always_xy=True)


def _transform(geom: BaseGeometry, transformer: Transformer | None) -> BaseGeometry:
    if transformer is None:
        return geom

    def forward(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])
    return shapely.transform(geom, forward)


def _check_degrees(bounds: Sequence[float], path: Path) -> None:
    lo_x, lo_y, hi_x, hi_y = bounds
    if not (-180 <= lo_x <= hi_x <= 180 and -90 <= lo_y <= hi_y <= 90):
        raise FormatError(f"coordinates {tuple(round(b, 1) for b in bounds)} are not degrees "
                          "and the file names no CRS", where=str(path),
                          fix="add a 'crs' member or pass --crs EPSG:XXXX")


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Only the polygons of a geometry (make_valid can return lines and points too)."""
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def read_districts(path: str | Path, population_field: str, name_field: str | None = None,
                   *, crs: str | None = None) -> Districts:
    """District polygons from GeoJSON, reprojected to WGS84, repaired when invalid.

    Parameters
    ----------
    path
        GeoJSON FeatureCollection of Polygon/MultiPolygon features.
    population_field
        Property holding residents (a number >= 0).
    name_field
        Property naming each district; the first of ``name``, ``ward``, ``district`` that
        exists when None, else ``district <n>``.
    crs
        Source CRS when the file has no ``crs`` member and is not WGS84.

    Raises
    ------
    InputError
        Missing file or field (the message lists the fields the file has), bad population.
    FormatError
        Not GeoJSON, no polygons, or projected coordinates without a CRS.
    """
    p = Path(path)
    data = _load_json(p)
    features = [f for f in data.get("features") or [] if (f or {}).get("geometry")]
    if not features:
        raise FormatError("no features with a geometry", where=str(p),
                          fix="give polygon features")
    fields = sorted({k for f in features for k in (f.get("properties") or {})})
    if population_field not in fields:
        raise InputError(f"no population field {population_field!r}; the fields are: "
                         f"{', '.join(fields) or '(none)'}", where=str(p),
                         fix="pass --population-field with one of those")
    if name_field is not None and name_field not in fields:
        raise InputError(f"no name field {name_field!r}; the fields are: {', '.join(fields)}",
                         where=str(p), fix="pass --name-field with one of those")
    name_key = name_field or next((k for k in _NAME_FIELDS if k in fields), None)
    transformer = _to_wgs84(data, p, crs)
    names, geoms, pops, repaired, notes = [], [], [], [], []
    for i, feature in enumerate(features):
        props = feature.get("properties") or {}
        name = str(props.get(name_key, "")).strip() if name_key else ""
        name = name or f"district {i + 1}"
        raw = props.get(population_field)
        try:
            pop = float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            pop = float("nan")
        if not np.isfinite(pop) or pop < 0:
            raise InputError(f"population {raw!r} of {name!r} is not a number >= 0",
                             where=f"{p} feature {i + 1} field {population_field}",
                             fix="fix the value or choose another --population-field")
        try:
            geom = _transform(shape(feature["geometry"]), transformer)
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            raise FormatError(f"unreadable geometry of {name!r} ({exc})",
                              where=f"{p} feature {i + 1}", fix="fix the geometry") from None
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise FormatError(f"{name!r} is a {geom.geom_type}, not a polygon",
                              where=f"{p} feature {i + 1}", fix="give district polygons")
        if not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            geom = _polygonal(shapely.make_valid(geom))
            repaired.append(name)
            notes.append(f"repaired invalid polygon of {name!r} ({reason}) with make_valid")
        if geom.is_empty or geom.area == 0:
            notes.append(f"{name!r} has no area and is left out")
            continue
        if pop == 0:
            notes.append(f"{name!r} has zero population: its measures are averaged by area "
                         "and it carries no weight in the city figures")
        names.append(name)
        geoms.append(geom)
        pops.append(pop)
    if not geoms:
        raise FormatError("no district has an area", where=str(p), fix="give polygons")
    _check_degrees(shapely.total_bounds(np.asarray(geoms)).tolist(), p)
    if sum(pops) <= 0:
        raise InputError(f"every district has zero {population_field}", where=str(p),
                         fix="choose a --population-field with residents")
    return Districts(tuple(names), tuple(geoms), np.asarray(pops, np.float64),
                     tuple(repaired), tuple(notes))


def _pick(columns: Sequence[str], wanted: Sequence[str]) -> str | None:
    lower = {c.lower(): c for c in columns}
    return next((lower[w] for w in wanted if w in lower), None)


def _read_table(path: Path, crs: str | None) -> pd.DataFrame:
    """Rows with float ``__lat``/``__lon`` columns (NaN where unusable) and the fields."""
    if not path.is_file():
        raise InputError("file not found", where=str(path), fix="check the path")
    if path.suffix.lower() in (".geojson", ".json"):
        data = _load_json(path)
        transformer = _to_wgs84(data, path, crs)
        rows, lat, lon = [], [], []
        for f in data.get("features") or []:
            rows.append(dict(f.get("properties") or {}))
            g = f.get("geometry")
            if not g:
                lat.append(np.nan)
                lon.append(np.nan)
                continue
            point = _transform(shape(g), transformer)
            if point.geom_type != "Point":
                point = point.representative_point() if not point.is_empty else point
            lon.append(point.x if not point.is_empty else np.nan)
            lat.append(point.y if not point.is_empty else np.nan)
        table = pd.DataFrame(rows).astype(str) if rows else pd.DataFrame()
        table["__lat"] = np.asarray(lat, np.float64)
        table["__lon"] = np.asarray(lon, np.float64)
        return table
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise FormatError(f"not a readable CSV ({exc})", where=str(path),
                          fix="give a CSV with lat and lon columns") from None
    except pd.errors.EmptyDataError:
        table = pd.DataFrame()
    lat_col, lon_col = _pick(list(table.columns), _LAT), _pick(list(table.columns), _LON)
    if table.shape[0] and (lat_col is None or lon_col is None):
        raise InputError(f"no lat/lon columns; the columns are: {', '.join(table.columns)}",
                         where=str(path), fix="name them lat and lon")
    table["__lat"] = pd.to_numeric(table[lat_col], errors="coerce") if lat_col else []
    table["__lon"] = pd.to_numeric(table[lon_col], errors="coerce") if lon_col else []
    if crs is not None:
        transformer = Transformer.from_crs(CRS.from_user_input(crs), "EPSG:4326",
                                           always_xy=True)
        x, y = transformer.transform(table["__lon"].to_numpy(), table["__lat"].to_numpy())
        table["__lon"], table["__lat"] = x, y
    return table


def parse_select(text: str) -> tuple[str, str, tuple[str, ...]]:
    """``NAME=FIELD:VALUE1|VALUE2`` -> ``(NAME, FIELD, (VALUE1, VALUE2))``."""
    name, _, rest = text.partition("=")
    fld, _, values = rest.partition(":")
    parts = tuple(v.strip() for v in values.split("|") if v.strip())
    if not name.strip() or not fld.strip() or not parts:
        raise InputError(f"cannot read the selection {text!r}", where="--select",
                         fix="write NAME=FIELD:VALUE1|VALUE2, e.g. "
                             "hospital=Facility_type_category:HOSPITALS")
    return name.strip(), fld.strip(), parts


def read_opportunities(paths: Sequence[str | Path], category_field: str | None = None,
                       selects: Sequence[str] = (), *, crs: str | None = None
                       ) -> Opportunities:
    """Opportunity points from CSV (lat/lon columns) or GeoJSON files, by category.

    Each file is one category named after the file (``schools.csv`` -> ``schools``),
    or, when it has ``category_field``, one category per value of that field. Each
    ``--select NAME=FIELD:V1|V2`` adds a category of the rows (of any file) whose FIELD is
    one of the values (case-insensitive), e.g. hospitals among health facilities.
    Rows without usable coordinates are skipped and reported in ``notes``.

    Raises
    ------
    InputError
        No file, an empty file, a file without coordinates or a selection matching nothing.
    """
    if not paths:
        raise InputError("no opportunity file", where="--opportunities",
                         fix="give at least one CSV or GeoJSON of points")
    chosen = [parse_select(s) for s in selects]
    lat_parts, lon_parts, notes = [], [], []
    members: dict[str, list[NDArray[np.intp]]] = {}
    start = 0
    for raw in paths:
        path = Path(raw)
        table = _read_table(path, crs)
        ok = (np.isfinite(table["__lat"]) & np.isfinite(table["__lon"])
              & table["__lat"].between(-90, 90) & table["__lon"].between(-180, 180))
        if int(ok.sum()) == 0:
            raise InputError(f"no opportunity with usable coordinates ({table.shape[0]} rows)",
                             where=str(path), fix="give a file of points with lat and lon")
        if not ok.all():
            notes.append(f"{path.name}: {int((~ok).sum())} rows without usable coordinates "
                         "skipped")
        table = table[ok.to_numpy()].reset_index(drop=True)
        index = np.arange(start, start + table.shape[0])
        if category_field and category_field in table.columns:
            values = table[category_field].astype(str).str.strip().replace("", "unknown")
            for value in sorted(values.unique()):
                members.setdefault(value, []).append(index[(values == value).to_numpy()])
        else:
            members.setdefault(path.stem, []).append(index)
        for name, fld, wanted in chosen:
            if fld in table.columns:
                hit = table[fld].astype(str).str.strip().str.lower().isin(
                    [w.lower() for w in wanted]).to_numpy()
                members.setdefault(name, []).append(index[hit])
        lat_parts.append(table["__lat"].to_numpy(np.float64))
        lon_parts.append(table["__lon"].to_numpy(np.float64))
        start += table.shape[0]
    merged = {k: np.unique(np.concatenate(v)).astype(np.intp) for k, v in members.items()}
    for name, fld, wanted in chosen:
        if merged.get(name, np.zeros(0)).size == 0:
            raise InputError(f"the selection {name!r} matches no opportunity",
                             where=f"--select {name}={fld}:{'|'.join(wanted)}",
                             fix="check the field name and its values in the files")
    return Opportunities(np.concatenate(lat_parts), np.concatenate(lon_parts),
                         {k: merged[k] for k in merged if merged[k].size}, tuple(notes))
