"""Fast extraction of the GPS points of TransitWand ``Route`` messages from their bytes.

Reading a million points through the protobuf message objects costs ~3 s (a wrapper object
per point and field); walking the already-validated bytes of each Route with a compiled loop
and gathering the float32 coordinates with numpy takes a few ms. The protobuf runtime still
parses and validates every message first (:mod:`gps_ingest.transitwand`); this module only
re-reads the point fields, with the same rules: fields in any order, the last occurrence
wins, an absent ``timeoffset`` is 0, unknown fields are skipped. A point without ``lat`` or
``lon`` (both required) gets NaN there, so the reader rejects it like a NaN point.

Wire format: Google, "Protocol Buffers: Encoding", https://protobuf.dev/programming-guides/encoding/.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

__all__ = ["float32_degrees", "route_byte_ranges", "route_points"]

#: Smallest encoded point: key + length + lat (key + 4) + lon (key + 4).
_MIN_POINT_BYTES = 12


@njit(cache=True)
def _varint(buf: NDArray[np.uint8], pos: int, end: int) -> tuple[int, int]:
    value = 0
    shift = 0
    while pos < end and shift < 70:
        byte = int(buf[pos])
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
    return -1, -1


@njit(cache=True)
def _skip(buf: NDArray[np.uint8], pos: int, end: int, wire: int) -> int:
    if wire == 0:
        _, pos = _varint(buf, pos, end)
        return pos
    if wire == 1:
        return pos + 8 if pos + 8 <= end else -1
    if wire == 5:
        return pos + 4 if pos + 4 <= end else -1
    if wire == 2:
        size, pos = _varint(buf, pos, end)
        if pos < 0 or size < 0 or pos + size > end:
            return -1
        return pos + size
    return -1  # groups (3, 4) and reserved types


#: Bit pattern of a float32 quiet NaN: what an absent lat/lon reads as.
_NAN_BITS = 0x7FC00000


@njit(cache=True)
def _bits32(buf: NDArray[np.uint8], pos: int) -> int:
    """The little-endian 32-bit word at ``pos`` (a float32's bits)."""
    return (int(buf[pos]) | int(buf[pos + 1]) << 8 | int(buf[pos + 2]) << 16
            | int(buf[pos + 3]) << 24)


@njit(cache=True)
def _walk_points(buf: NDArray[np.uint8], start: int, end: int, lat_bits: NDArray[np.uint32],
                 lon_bits: NDArray[np.uint32], offset_s: NDArray[np.int64]) -> int:
    """Fill the float32 bits of lat/lon and the offsets; return the point count or -1."""
    n = 0
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos, end)
        if pos < 0:
            return -1
        field = key >> 3
        wire = key & 7
        if field == 2 and wire == 2:
            size, pos = _varint(buf, pos, end)
            if pos < 0 or pos + size > end:
                return -1
            stop = pos + size
            lat_bits[n] = _NAN_BITS
            lon_bits[n] = _NAN_BITS
            offset_s[n] = 0
            while pos < stop:
                k, pos = _varint(buf, pos, stop)
                if pos < 0:
                    return -1
                f = k >> 3
                w = k & 7
                if f == 1 and w == 5 and pos + 4 <= stop:
                    lat_bits[n] = _bits32(buf, pos)
                    pos += 4
                elif f == 2 and w == 5 and pos + 4 <= stop:
                    lon_bits[n] = _bits32(buf, pos)
                    pos += 4
                elif f == 3 and w == 0:
                    value, pos = _varint(buf, pos, stop)
                    if pos < 0:
                        return -1
                    value &= 0xFFFFFFFF  # int32: the low 32 bits, two's complement
                    offset_s[n] = value - (1 << 32) if value >= (1 << 31) else value
                else:
                    pos = _skip(buf, pos, stop, w)
                    if pos < 0:
                        return -1
            n += 1
        else:
            pos = _skip(buf, pos, end, wire)
            if pos < 0:
                return -1
    return n


def route_points(buf: NDArray[np.uint8], start: int, end: int) -> tuple[
        NDArray[np.float32], NDArray[np.float32], NDArray[np.int64]] | None:
    """The points of the Route encoded in ``buf[start:end]``.

    Parameters
    ----------
    buf
        The capture's bytes as a uint8 array.
    start, end
        Byte range of one serialized Route message (without its length prefix).

    Returns
    -------
    tuple or None
        ``(lat, lon, timeoffset_s)``: float32 degrees and int64 seconds since the previous
        point, in file order (NaN for an absent lat/lon); ``None`` when the bytes are not
        a well-formed Route.
    """
    cap = max((end - start) // _MIN_POINT_BYTES, 0)
    lat_bits = np.empty(cap, np.uint32)
    lon_bits = np.empty(cap, np.uint32)
    offset_s = np.empty(cap, np.int64)
    n = _walk_points(buf, start, end, lat_bits, lon_bits, offset_s)
    if n < 0:
        return None
    return lat_bits[:n].view(np.float32), lon_bits[:n].view(np.float32), offset_s[:n]


@njit(cache=True)
def _shortest(values: NDArray[np.float32], out: NDArray[np.float64]) -> int:
    """Fill ``out`` with the fewest-decimals value that rounds back to each float32."""
    leftovers = 0
    for i in range(len(values)):
        x32 = values[i]
        x = np.float64(x32)
        out[i] = x
        if not np.isfinite(x):
            continue
        scale = 1.0
        for _ in range(16):
            candidate = np.rint(x * scale) / scale
            if np.float32(candidate) == x32:
                out[i] = candidate
                break
            scale *= 10.0
        else:
            out[i] = np.nan
            leftovers += 1
    return leftovers


def float32_degrees(values: NDArray[np.float32]) -> NDArray[np.float64]:
    """float32 -> float64 through the shortest decimal that round-trips the float32.

    The fewest decimals ``k`` for which ``rint(x * 10**k) / 10**k`` converts back to the
    same float32, compiled. For degrees (|x| < 1000) that is the value
    ``str(np.float32(x))`` prints (``36.82``, not ``36.81999969482422``); larger values
    still convert back to the same float32. Values needing more than 15 decimals
    (|x| < 1e-7 or so) go through numpy's formatter.
    """
    values = np.ascontiguousarray(values, dtype=np.float32)
    out = np.empty(len(values), np.float64)
    if _shortest(values, out):
        rest = np.flatnonzero(np.isnan(out) & ~np.isnan(values))
        out[rest] = values[rest].astype(str).astype(np.float64)
    return out


def route_byte_ranges(data: bytes, *, delimited: bool) -> list[tuple[int, int]]:
    """Byte ranges of the Route messages in a capture that already parsed.

    ``delimited``: the capture is length-delimited Routes; otherwise one Upload, whose
    field 3 holds the Routes (other fields are skipped by wire type).
    """
    buf = np.frombuffer(data, np.uint8)
    ranges: list[tuple[int, int]] = []
    pos, end = 0, len(data)
    while pos < end:
        if delimited:
            size, pos = _varint(buf, pos, end)
            ranges.append((pos, pos + size))
            pos += size
            continue
        key, pos = _varint(buf, pos, end)
        if key >> 3 == 3 and key & 7 == 2:
            size, pos = _varint(buf, pos, end)
            ranges.append((pos, pos + size))
            pos += size
        else:
            pos = _skip(buf, pos, end, key & 7)
        if pos < 0:
            raise ValueError("capture bytes are not well formed")
    return ranges
