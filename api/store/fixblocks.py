"""Encode and decode columnar blocks of positionfixes (the ``fix_blocks.data`` column).

Layout (little-endian): magic ``b"TFB1"``, uint32 n, then the columns time_ms int64[n],
lat float64[n], lon float64[n], accuracy_m float32[n], speed_mps float32[n], altitude_m
float32[n], reason int16[n], segment int32[n]: 46 bytes a fix. Not compressed: zlib halved
the size but cost more than parsing the CSV (GPS coordinates are high-entropy), and the
store's speed budget matters more than its size.
"""

from __future__ import annotations

import struct

import numpy as np
from numpy.typing import NDArray

from transit.errors import StoreError

MAGIC = b"TFB1"
_COLUMNS: tuple[tuple[str, str], ...] = (
    ("time_ms", "<i8"), ("lat", "<f8"), ("lon", "<f8"), ("accuracy_m", "<f4"),
    ("speed_mps", "<f4"), ("altitude_m", "<f4"), ("reason", "<i2"), ("segment", "<i4"),
)


def encode_block(columns: dict[str, NDArray[np.generic]]) -> bytes:
    """Columns of equal length (names as in :class:`transit.traces.Positionfixes`) -> bytes."""
    n = len(columns["time_ms"])
    parts = [MAGIC, struct.pack("<I", n)]
    for name, dtype in _COLUMNS:
        parts.append(np.ascontiguousarray(columns[name], dtype=dtype).tobytes())
    return b"".join(parts)


def decode_block(data: bytes) -> dict[str, NDArray[np.generic]]:
    """Inverse of :func:`encode_block`."""
    raw = data
    if raw[:4] != MAGIC:
        raise StoreError("a stored fix block has an unknown layout",
                         fix="upgrade the software that reads this database")
    (n,) = struct.unpack_from("<I", raw, 4)
    if len(raw) != 8 + n * sum(np.dtype(d).itemsize for _, d in _COLUMNS):
        raise StoreError("a stored fix block is truncated",
                         fix="re-ingest the upload from its kept raw bytes")
    offset = 8
    out: dict[str, NDArray[np.generic]] = {}
    for name, dtype in _COLUMNS:
        size = np.dtype(dtype).itemsize * n
        values = np.frombuffer(raw, dtype=dtype, count=n, offset=offset)
        offset += size
        out[name] = values.copy()
    return out
