"""Degrees in, metres out: the one place coverage geometry changes coordinates.

A radius of 60 m is a circle only in a metric projection; in degrees it is an ellipse
whose shape depends on the latitude, and areas in square degrees mean nothing. So every
analysis projects once to the UTM zone of the city's centre (Bekasi: zone 48 south,
EPSG:32748), where scale errors across a city of 20 km stay below 0.1 %, and back to
lon/lat only for the GeoJSON it returns. ``always_xy``: pyproj's axis order follows the
CRS (lat, lon for EPSG:4326) unless told otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from pyproj import Transformer

WGS84 = 4326

Floats = npt.NDArray[np.float64]


def utm_epsg(lon: float, lat: float) -> int:
    """The EPSG code of the WGS84 UTM zone holding (lon, lat)."""
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0) or math.isnan(lon + lat):
        raise ValueError(f"not a position: lon {lon}, lat {lat}")
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return (32600 if lat >= 0 else 32700) + zone


@lru_cache(maxsize=16)
def _transformers(epsg: int) -> tuple[Transformer, Transformer]:
    return (
        Transformer.from_crs(WGS84, epsg, always_xy=True),
        Transformer.from_crs(epsg, WGS84, always_xy=True),
    )


class Projector:
    """Forward (lon/lat → x/y metres) and inverse, vectorised over numpy arrays."""

    def __init__(self, epsg: int) -> None:
        self.epsg = epsg
        self._forward, self._inverse = _transformers(epsg)

    @classmethod
    def for_points(cls, lons: Sequence[float], lats: Sequence[float]) -> Projector:
        """The UTM zone of the points' centre (the middle of their extent)."""
        if not lons:
            raise ValueError("no positions to choose a projection from")
        lon = (min(lons) + max(lons)) / 2
        lat = (min(lats) + max(lats)) / 2
        return cls(utm_epsg(lon, lat))

    def forward(self, lons: npt.ArrayLike, lats: npt.ArrayLike) -> tuple[Floats, Floats]:
        x, y = self._forward.transform(
            np.asarray(lons, dtype=np.float64), np.asarray(lats, dtype=np.float64)
        )
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    def inverse(self, xs: npt.ArrayLike, ys: npt.ArrayLike) -> tuple[Floats, Floats]:
        lon, lat = self._inverse.transform(
            np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
        )
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
