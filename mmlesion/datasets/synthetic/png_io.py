"""Writing DeepLesion slice files: 16-bit grayscale PNG storing ``HU + 32768``.

Writing uses a small PNG encoder of its own (PNG 1.2: one IHDR, one IDAT, IEND; every row
"Up"-filtered; Huffman-only deflate): standard files, decoded by OpenCV's libpng like any
other, written about twice as fast as ``cv2.imwrite``, whose adaptive row filtering otherwise
dominates the generator's run time. Reading is :func:`mmlesion.datasets.read_deeplesion_png`.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from ..dl_info import HU_OFFSET

_SIGNATURE = b'\x89PNG\r\n\x1a\n'
_FILTER_UP = 2


def hu_to_png_values(hu: np.ndarray) -> np.ndarray:
    """``(H, W)`` HU (any float) to the stored ``(H, W) uint16``, rounded to whole HU."""
    return np.clip(np.rint(hu) + HU_OFFSET, 0, 65535).astype(np.uint16)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))


def encode_png16(values: np.ndarray) -> bytes:
    """A 16-bit grayscale PNG of ``values: (H, W) uint16``."""
    if values.dtype != np.uint16 or values.ndim != 2:
        raise ValueError(f'expected (H, W) uint16, got {values.dtype} {values.shape}')
    height, width = values.shape
    raw = values.astype('>u2').view(np.uint8).reshape(height, 2 * width)
    scanlines = np.empty((height, 2 * width + 1), np.uint8)
    scanlines[:, 0] = _FILTER_UP
    scanlines[:, 1:] = raw
    scanlines[1:, 1:] -= raw[:-1]  # Up filter: byte minus the byte above, modulo 256.
    deflate = zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_HUFFMAN_ONLY)
    idat = deflate.compress(scanlines.tobytes()) + deflate.flush()
    header = struct.pack('>IIBBBBB', width, height, 16, 0, 0, 0, 0)  # 16-bit, grayscale
    return _SIGNATURE + _chunk(b'IHDR', header) + _chunk(b'IDAT', idat) + _chunk(b'IEND', b'')


def write_slice_png(path: str | Path, hu: np.ndarray) -> None:
    """Write one slice, ``hu: (H, W)`` HU, as DeepLesion stores it; the folder must exist."""
    Path(path).write_bytes(encode_png16(hu_to_png_values(hu)))
