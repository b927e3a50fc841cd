"""Reading a DeepLesion key slice and its neighbours as a 2.5D HU image."""

from __future__ import annotations

import os.path as osp

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS
from mmengine.logging import print_log

from ..dl_info import HU_OFFSET
from ..voxel_budget import MAX_VOXELS, check_voxel_budget
from .neighbour_slices import stack_neighbours


def read_deeplesion_png(path: str, max_voxels: int = MAX_VOXELS) -> np.ndarray:
    """Read one DeepLesion slice as HU.

    The size the PNG header declares is checked against ``max_voxels`` before the image is
    decoded (:func:`~mmlesion.datasets.voxel_budget.check_voxel_budget`); the file is read once.

    Args:
        path: a 16-bit single-channel PNG storing HU + 32768.
        max_voxels: the largest image decoded, pixels.

    Returns:
        float32 array ``(H, W)`` in HU.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the header declares more than ``max_voxels`` pixels, the file cannot be
            decoded (OpenCV's error is re-raised with the file's name), or it is not a 16-bit
            single-channel PNG.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'DeepLesion slice not found: {path}')
    data = np.fromfile(path, dtype=np.uint8)
    size = png_header_size(data[:_PNG_HEADER_BYTES].tobytes())
    if size is not None:
        check_voxel_budget(size, path, max_voxels)
    try:
        raw = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error as error:
        raise ValueError(f'cannot decode image {path}: {error}') from error
    if raw is None:
        raise ValueError(f'cannot decode image (corrupt or not a PNG): {path}')
    if raw.dtype != np.uint16 or raw.ndim != 2:
        channels = 1 if raw.ndim == 2 else raw.shape[2]
        raise ValueError(
            f'expected a 16-bit single-channel PNG (HU + {HU_OFFSET}) at {path}, got '
            f'{raw.dtype} with {channels} channel(s)'
        )
    return raw.astype(np.float32) - HU_OFFSET


_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
#: The signature (8 bytes), then the IHDR chunk's length and type (8) and width and height (8).
_PNG_HEADER_BYTES = 24


def png_header_size(head: bytes) -> tuple[int, int] | None:
    """``(height, width)`` pixels from a PNG file's first 24 bytes (the IHDR chunk, which the
    format puts first); None when they are not a PNG header."""
    if len(head) < _PNG_HEADER_BYTES or not head.startswith(_PNG_SIGNATURE):
        return None
    if head[12:16] != b'IHDR':
        return None
    return int.from_bytes(head[20:24], 'big'), int.from_bytes(head[16:20], 'big')


def png_size(path: str) -> tuple[int, int] | None:
    """``(height, width)`` pixels from a PNG's header (24 bytes read); None when the file is
    missing or not a PNG (loading it later says why)."""
    try:
        with open(path, 'rb') as f:
            return png_header_size(f.read(_PNG_HEADER_BYTES))
    except OSError:
        return None


def slice_path(series_dir: str, index: int) -> str:
    return osp.join(series_dir, f'{index:03d}.png')


@TRANSFORMS.register_module()
class LoadDeepLesionSlices(BaseTransform):
    """Load the key slice and its neighbours at a normalised interval (the 2.5D input of
    DeepLesion detectors such as 3DCE), in HU.

    Neighbour ``k`` (``k = -(n-1)/2 .. (n-1)/2``) sits ``k * slice_interval_mm`` from the key
    slice. Its position in stored slices, ``key + k * slice_interval_mm / z_spacing``, is
    usually fractional: the two enclosing stored slices are blended linearly
    (:mod:`.neighbour_slices`). Positions beyond the stored ``slice_range``, or slices missing
    on disk, take the nearest stored slice (logged once per series).

    Required Keys: ``img_path``, ``slice_interval_mm``, ``key_slice_index``, ``slice_range``
    (``spacing_mm`` and ``image_size`` are used when present).

    Added Keys: ``img`` (float32 ``(H, W, num_slices)``, HU, slices ordered from lower to
    higher index, the key slice in the middle), ``img_shape``, ``ori_shape``, ``scale_factor``
    (``(1.0, 1.0)``: later resizes set or compose it; predictions are mapped back with it).

    Args:
        num_slices: odd number of slices (1 = key slice only; default 3).
        slice_interval_mm: distance between the loaded slices in mm (default 2 mm, as 3DCE).

    Raises:
        FileNotFoundError: the key slice is missing (the path is in the message).
        ValueError: a slice is not a 16-bit PNG, or its size differs from ``image_size`` or
            (a neighbour) from the key slice's.
    """

    def __init__(self, num_slices: int = 3, slice_interval_mm: float = 2.0) -> None:
        if num_slices < 1 or num_slices % 2 == 0:
            raise ValueError(f'num_slices must be odd and >= 1, got {num_slices}')
        if slice_interval_mm <= 0:
            raise ValueError(f'slice_interval_mm must be positive, got {slice_interval_mm}')
        self.num_slices = num_slices
        self.slice_interval_mm = slice_interval_mm
        self._warned_series: set[str] = set()

    def transform(self, results: dict) -> dict:
        key_path = results['img_path']
        series_dir = osp.dirname(key_path)
        key_index = int(results['key_slice_index'])
        first, last = (int(v) for v in results['slice_range'])
        first, last = min(first, key_index), max(last, key_index)

        key_slice = read_deeplesion_png(key_path)
        expected = results.get('image_size')
        if expected is not None and tuple(key_slice.shape) != tuple(expected):
            raise ValueError(
                f'{key_path}: image is {key_slice.shape[0]}x{key_slice.shape[1]} '
                f'pixels but DL_info Image_size says {expected[0]}x{expected[1]}'
            )
        loaded = {key_index: key_slice}

        def read(index: int) -> np.ndarray:
            if index not in loaded:
                neighbour = self._read_nearest(series_dir, index, key_index, loaded)
                if neighbour.shape != key_slice.shape:
                    raise ValueError(
                        f'{slice_path(series_dir, index)} (or the stored slice nearest to it) is '
                        f'{neighbour.shape[0]}x{neighbour.shape[1]} pixels but its key slice '
                        f'{key_path} is {key_slice.shape[0]}x{key_slice.shape[1]}: every slice '
                        'of a series must have one size'
                    )
                loaded[index] = neighbour
            return loaded[index]

        img = stack_neighbours(
            read,
            key_index,
            (first, last),
            self.num_slices,
            self.slice_interval_mm,
            float(results['slice_interval_mm']),
        )
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        results['scale_factor'] = (1.0, 1.0)
        return results

    def _read_nearest(
        self, series_dir: str, index: int, key_index: int, cache: dict[int, np.ndarray]
    ) -> np.ndarray:
        """Slice ``index``, or when it is missing on disk the stored slice nearest to it."""
        path = slice_path(series_dir, index)
        if osp.isfile(path):
            return read_deeplesion_png(path)
        # Walk from the missing slice towards the key slice, which is known to exist.
        step = 1 if key_index > index else -1
        nearest = index
        while nearest != key_index and not osp.isfile(slice_path(series_dir, nearest)):
            nearest += step
        if series_dir not in self._warned_series:
            self._warned_series.add(series_dir)
            print_log(
                f'LoadDeepLesionSlices: {path} is missing; using slice {nearest:03d} instead '
                '(nearest stored slice towards the key slice; logged once per series)',
                logger='current',
                level=30,
            )
        return (
            cache[nearest]
            if nearest in cache
            else read_deeplesion_png(slice_path(series_dir, nearest))
        )

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(num_slices={self.num_slices}, '
            f'slice_interval_mm={self.slice_interval_mm})'
        )
