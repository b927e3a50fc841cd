"""A local-contrast view of a CT slice: band-passed HU through a narrow window around zero."""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
from mmdet.registry import TRANSFORMS
from mmengine.logging import print_log

from .hu_window import HUWindow, window_hu


@TRANSFORMS.register_module()
class LocalContrastWindow(HUWindow):
    """:class:`HUWindow` plus one local-contrast channel per slice, appended after the windows.

    The local contrast is a difference of Gaussians of the HU image,
    ``G(sigma_fine) * hu - G(sigma_coarse) * hu``: the fine blur averages pixel noise away
    (white noise of sigma 9 HU falls to about 2.6 HU at ``sigma_fine`` = 1 pixel), the coarse one
    removes the organ's own level, so a lesion 15 HU from its organ is a 15 HU blob on zero
    whatever the organ, contrast phase or scanner shading. It is mapped through the narrow
    window ``(-half_width_hu, +half_width_hu)`` to [0, 255] (zero at 127.5). A low-contrast
    lesion that a soft-tissue window shows a few levels above its noisy organ fills tens of
    levels here; edges between organs saturate, which the other windows still show.

    Blur widths are in mm and converted with the item's ``spacing_mm`` (taken as pixels, i.e.
    1 mm a pixel, when it is missing or unknown: NaN or not positive, as for a PNG series
    given without its spacing; logged once), so the same config fits the 0.8 mm and the
    1.4 mm slices. The coarse blur sets what counts as background: too narrow and it follows
    the lesion itself, too wide and nearby organs leak in. The default 6 mm is the demo's
    setting (``configs/_base_/datasets/synthetic_deeplesion.py``); how it was chosen is in
    ``docs/en/history.md``.

    Required Keys: ``img`` (float32 ``(H, W, S)`` HU); ``spacing_mm`` (optional).

    Modified Keys: ``img`` (float32 ``(H, W, S*(K+1))`` in [0, 255]: the ``K`` windows
    window-major as :class:`HUWindow`, then the local contrast of each slice).

    Added Keys: ``hu_windows``.

    Args:
        windows: ``(low, high)`` HU display windows before the local-contrast channel.
        sigma_fine_mm: the noise-averaging blur, mm (0 = none).
        sigma_coarse_mm: the background blur, mm; larger than ``sigma_fine_mm``.
        half_width_hu: the local-contrast window is ``(-half_width_hu, half_width_hu)`` HU.
    """

    def __init__(
        self,
        windows: Sequence[Sequence[float]] = ((-160.0, 240.0), (-1024.0, 1050.0)),
        sigma_fine_mm: float = 1.5,
        sigma_coarse_mm: float = 6.0,
        half_width_hu: float = 60.0,
    ) -> None:
        super().__init__(windows=windows)
        if not 0 <= sigma_fine_mm < sigma_coarse_mm:
            raise ValueError(
                'LocalContrastWindow needs 0 <= sigma_fine_mm < sigma_coarse_mm, got '
                f'{sigma_fine_mm} and {sigma_coarse_mm}'
            )
        if half_width_hu <= 0:
            raise ValueError(f'half_width_hu must be positive, got {half_width_hu}')
        self.sigma_fine_mm = float(sigma_fine_mm)
        self.sigma_coarse_mm = float(sigma_coarse_mm)
        self.half_width_hu = float(half_width_hu)
        self._warned_unknown_spacing = False

    def _pixel_mm(self, results: dict) -> float:
        """The in-plane pixel spacing, mm; 1.0 when the item's is missing or unknown."""
        spacing = results.get('spacing_mm')
        pixel_mm = float(spacing[0]) if spacing is not None else 1.0
        if math.isfinite(pixel_mm) and pixel_mm > 0:
            return pixel_mm
        if not self._warned_unknown_spacing:
            self._warned_unknown_spacing = True
            print_log(
                f'LocalContrastWindow: pixel spacing {pixel_mm} mm of {results.get("img_path")} '
                'is unknown; blur widths taken in pixels (1 mm a pixel; logged once)',
                logger='current',
                level=30,
            )
        return 1.0

    def transform(self, results: dict) -> dict:
        hu = results['img']
        if hu.ndim == 2:
            hu = hu[..., None]
        pixel_mm = self._pixel_mm(results)
        contrast = local_contrast_hu(
            hu, self.sigma_fine_mm / pixel_mm, self.sigma_coarse_mm / pixel_mm
        )
        results = super().transform(results)
        view = window_hu(contrast, -self.half_width_hu, self.half_width_hu)
        results['img'] = np.concatenate([results['img'], view], axis=-1)
        return results

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(windows={self.windows}, '
            f'sigma_fine_mm={self.sigma_fine_mm}, sigma_coarse_mm={self.sigma_coarse_mm}, '
            f'half_width_hu={self.half_width_hu})'
        )


def local_contrast_hu(hu: np.ndarray, sigma_fine_px: float, sigma_coarse_px: float) -> np.ndarray:
    """Difference of Gaussians of each channel of ``hu`` (float ``(H, W, S)``, HU), in HU.

    Blur widths in pixels; a fine width of 0 leaves the image unblurred. Borders replicate
    (a slice's edge is air, whose local contrast is then zero, not a step). Returns float32
    ``(H, W, S)``.
    """
    hu = np.ascontiguousarray(hu, dtype=np.float32)

    def blur(sigma: float) -> np.ndarray:
        if sigma <= 0:
            return hu
        out = cv2.GaussianBlur(hu, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
        return out.reshape(hu.shape)  # OpenCV drops a single channel's axis

    return blur(sigma_fine_px) - blur(sigma_coarse_px)
