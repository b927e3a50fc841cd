"""Mapping Hounsfield units to display intensities with one or several windows."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS

#: The wide window of DeepLesion detectors (3DCE, MULAN): all soft tissue, lung and bone.
DEEPLESION_WIDE_WINDOW_HU = (-1024.0, 3071.0)


@TRANSFORMS.register_module()
class HUWindow(BaseTransform):
    """Map HU linearly to [0, 255] float32 through display window(s), clipping outside.

    With one window every slice channel is mapped through it. With ``K`` windows each slice
    gives ``K`` channels (multi-window input), ordered window-major:
    ``[w0(s0), w0(s1), ..., w1(s0), ...]``. ``use_dicom_window=True`` uses the row's
    ``DICOM_windows`` instead (one window per image).

    Required Keys: ``img`` (float32 ``(H, W, S)`` HU); ``dicom_window`` with
    ``use_dicom_window``.

    Modified Keys: ``img`` (float32 ``(H, W, S*K)`` in [0, 255]).

    Added Keys: ``hu_windows`` (the windows used, HU).

    Args:
        windows: ``(low, high)`` HU pairs, low < high.
        use_dicom_window: take the window from the data item's ``dicom_window``.
    """

    def __init__(
        self,
        windows: Sequence[Sequence[float]] = (DEEPLESION_WIDE_WINDOW_HU,),
        use_dicom_window: bool = False,
    ) -> None:
        windows = [tuple(float(v) for v in w) for w in windows]
        if not windows and not use_dicom_window:
            raise ValueError('HUWindow needs at least one window or use_dicom_window=True')
        for low, high, *rest in windows:
            if rest or not low < high:
                raise ValueError(f'each window must be (low, high) HU with low < high: {windows}')
        self.windows = windows
        self.use_dicom_window = use_dicom_window

    def transform(self, results: dict) -> dict:
        hu = results['img']
        if hu.ndim == 2:
            hu = hu[..., None]
        windows = [tuple(results['dicom_window'])] if self.use_dicom_window else self.windows
        mapped = [window_hu(hu, low, high) for low, high in windows]
        results['img'] = np.concatenate(mapped, axis=-1) if len(mapped) > 1 else mapped[0]
        results['hu_windows'] = windows
        return results

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(windows={self.windows}, '
            f'use_dicom_window={self.use_dicom_window})'
        )


def window_hu(hu: np.ndarray, low: float, high: float) -> np.ndarray:
    """``hu`` (any shape, HU) → float32 in [0, 255]; ``low`` maps to 0 and ``high`` to 255."""
    if not low < high:
        raise ValueError(f'window must satisfy low < high, got ({low}, {high})')
    scaled = (hu.astype(np.float32) - low) * np.float32(255.0 / (high - low))
    return np.clip(scaled, 0.0, 255.0, out=scaled)
