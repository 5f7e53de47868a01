"""Origins for accessibility: population-weighted sample points inside each district.

A district is covered by the cells of one regular square grid, laid out in a local metric
plane (azimuthal equidistant, :class:`transit.geo.LocalProjection`) centred on the study
area, so neighbouring districts share one lattice. Each cell that overlaps a district gives
one origin: the centre of the cell when it lies inside the district, else a point inside
the overlap. The district's population is spread by area: an origin carries
``population * overlap_area / district_area`` residents, so the origins of a district add
up to its population exactly and a large ward is not reduced to one centroid.

This is the usual "grid of origins" of accessibility studies (Conveyal R5 uses a web
Mercator pixel grid; Pereira et al. 2019 use H3 hexagons); area weighting is the areal
interpolation of Goodchild & Lam (1980) without ancillary data.

References
----------
M. F. Goodchild and N. S.-N. Lam, "Areal interpolation: a variant of the traditional
spatial problem", Geo-Processing 1, 1980.
R. H. M. Pereira et al., "Future accessibility impacts of transport policy scenarios",
Journal of Transport Geography 74, 2019.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from transit.errors import InputError
from transit.geo import LocalProjection

__all__ = ["DEFAULT_SPACING_M", "Origins", "build_origins", "district_of_points",
           "project_geometry"]

#: Default distance between neighbouring origins, metres.
DEFAULT_SPACING_M = 250.0


@dataclass(frozen=True)
class Origins:
    """Sample points of every district (read-only arrays, one entry per origin).

    ``lat``/``lon`` are WGS84 degrees; ``population`` residents (float: area shares);
    ``district`` the index of the district each origin belongs to. Origins are ordered by
    district, then by grid row (south to north) and column (west to east).
    """

    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    population: NDArray[np.float64]
    district: NDArray[np.int32]
    spacing_m: float

    def __post_init__(self) -> None:
        for name in ("lat", "lon", "population", "district"):
            array = np.ascontiguousarray(getattr(self, name))
            array.flags.writeable = False
            object.__setattr__(self, name, array)

    @property
    def size(self) -> int:
        """Number of origins."""
        return int(self.lat.shape[0])

    def take(self, index: NDArray[np.intp]) -> Origins:
        """The origins at ``index`` (same spacing)."""
        return Origins(self.lat[index], self.lon[index], self.population[index],
                       self.district[index], self.spacing_m)


def project_geometry(geom: BaseGeometry, proj: LocalProjection) -> BaseGeometry:
    """A WGS84 geometry (x = lon, y = lat) in the plane of ``proj`` (metres)."""
    def forward(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = proj.forward(xy[:, 1], xy[:, 0])
        return np.column_stack([x, y])
    return shapely.transform(geom, forward)


def build_origins(districts: Sequence[BaseGeometry], population: NDArray[np.float64],
                  spacing_m: float = DEFAULT_SPACING_M,
                  min_cell_share: float = 0.25) -> Origins:
    """Grid origins inside each district, each carrying its share of the population.

    Parameters
    ----------
    districts
        Valid (multi)polygons in WGS84, x = longitude, y = latitude, degrees.
    population
        Residents of each district (>= 0).
    spacing_m
        Grid spacing, metres: the resolution of the analysis. Smaller is finer and slower
        (the number of origins grows with ``1 / spacing_m**2``).
    min_cell_share
        A piece of a cell smaller than this share of a whole cell (a sliver along the
        district's edge) gives its area, hence its residents, to the nearest other origin
        of the same district instead of becoming an origin itself.

    Returns
    -------
    Origins
        Every district with a positive area gets at least one origin.

    Raises
    ------
    InputError
        When the spacing is not positive or the population is negative or not finite.
    """
    if not spacing_m > 0:
        raise InputError(f"origin spacing of {spacing_m} m", fix="give a spacing above 0 m")
    pop = np.asarray(population, np.float64)
    if pop.shape != (len(districts),) or not np.all(np.isfinite(pop)) or np.any(pop < 0):
        raise InputError("district populations must be finite and >= 0, one per district",
                         fix="check the population field")
    if not districts:
        raise InputError("no districts", fix="give at least one district polygon")
    lo_x, lo_y, hi_x, hi_y = np.asarray(shapely.total_bounds(np.asarray(districts)))
    proj = LocalProjection(round((lo_y + hi_y) / 2, 6), round((lo_x + hi_x) / 2, 6))
    lat_parts, lon_parts, pop_parts, dist_parts = [], [], [], []
    for d, geom in enumerate(districts):
        plane = project_geometry(geom, proj)
        x, y, weight = _cells(plane, spacing_m)
        x, y, weight = _merge_slivers(x, y, weight, min_cell_share * spacing_m * spacing_m)
        total = float(weight.sum())
        if total <= 0:
            continue
        lat, lon = proj.inverse(x, y)
        lat_parts.append(lat)
        lon_parts.append(lon)
        pop_parts.append(pop[d] * weight / total)
        dist_parts.append(np.full(x.size, d, np.int32))
    if not lat_parts:
        raise InputError("the districts have no area", fix="give polygons, not points or lines")
    return Origins(np.concatenate(lat_parts), np.concatenate(lon_parts),
                   np.concatenate(pop_parts), np.concatenate(dist_parts), float(spacing_m))


def _cells(plane: BaseGeometry, spacing_m: float
           ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Origins (x, y) and overlap areas (m2) of the grid cells meeting a projected polygon."""
    spacing_m = float(spacing_m)
    min_x, min_y, max_x, max_y = plane.bounds
    i0, i1 = int(np.floor(min_x / spacing_m)), int(np.ceil(max_x / spacing_m))
    j0, j1 = int(np.floor(min_y / spacing_m)), int(np.ceil(max_y / spacing_m))
    jj, ii = np.meshgrid(np.arange(j0, j1), np.arange(i0, i1), indexing="ij")
    left = ii.ravel() * spacing_m
    bottom = jj.ravel() * spacing_m
    boxes = shapely.box(left, bottom, left + spacing_m, bottom + spacing_m)
    shapely.prepare(plane)
    hit = shapely.intersects(plane, boxes)
    boxes, left, bottom = boxes[hit], left[hit], bottom[hit]
    whole = shapely.contains_properly(plane, boxes)
    area = np.full(boxes.size, spacing_m * spacing_m)
    x = left + spacing_m / 2
    y = bottom + spacing_m / 2
    edge = np.flatnonzero(~whole)
    pieces = shapely.intersection(boxes[edge], plane)
    area[edge] = shapely.area(pieces)
    inside = shapely.contains_xy(plane, x[edge], y[edge])
    rep = shapely.get_coordinates(shapely.point_on_surface(pieces))
    if edge.size:
        x[edge] = np.where(inside, x[edge], rep[:, 0])
        y[edge] = np.where(inside, y[edge], rep[:, 1])
    keep = area > 1e-6 * spacing_m * spacing_m   # drop slivers of float noise
    return x[keep], y[keep], np.asarray(area[keep], np.float64)


def _merge_slivers(x: NDArray[np.float64], y: NDArray[np.float64],
                   area: NDArray[np.float64], min_area: float
                   ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Give the area of pieces below ``min_area`` to the nearest larger piece."""
    small = area < min_area
    if not small.any() or small.all():
        return x, y, area
    keep = np.flatnonzero(~small)
    d2 = ((x[small][:, None] - x[keep][None, :]) ** 2
          + (y[small][:, None] - y[keep][None, :]) ** 2)
    target = np.argmin(d2, axis=1)
    merged = area[keep].copy()
    np.add.at(merged, target, area[small])
    return x[keep], y[keep], merged


def district_of_points(districts: Sequence[BaseGeometry], lat: NDArray[np.float64],
                       lon: NDArray[np.float64]) -> NDArray[np.int32]:
    """Index of the (first) district containing each point, -1 when it is in none."""
    tree = shapely.STRtree(list(districts))
    points = shapely.points(np.asarray(lon, np.float64), np.asarray(lat, np.float64))
    out = np.full(points.size, -1, np.int32)
    pt, geom = tree.query(points, predicate="intersects")
    order = np.lexsort((geom, pt))[::-1]          # the lowest district index wins
    out[pt[order]] = geom[order]
    return out
