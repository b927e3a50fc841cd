"""A detection data preprocessor that re-windows and denoises each image with its own parameters."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from mmdet.registry import MODELS

from mmlesion.enhancement import window_denoise

from .per_image_enhancement_preprocessor import PerImageEnhancementPreprocessor, enhance_by_size

#: The metainfo keys of the parameters, in the order of ``fixed_params`` and the regressor.
WINDOW_DENOISE_KEYS = ('window_level_offset_hu', 'window_width_scale', 'denoise_strength')
#: The window widths (HU) of ``LocalContrastWindow``'s channels in the demo and DeepLesion
#: configs: soft tissue -160..240 HU, wide -1024..1050 HU; the local-contrast view (a
#: difference of Gaussians through -60..60 HU) is not re-windowed.
LOCAL_CONTRAST_WINDOW_WIDTHS_HU = (400.0, 2074.0, None)


@MODELS.register_module()
class WindowDenoisePreprocessor(PerImageEnhancementPreprocessor):
    """Re-window every image in HU and denoise it, with per-image parameters, then normalise and
    pad: the CT-native enhancement family (:func:`~mmlesion.enhancement.window_denoise`).

    Each image gets a window level offset (HU), a window width scale (> 0) and a denoising
    strength ``beta`` in [0, 1]. The offset and scale re-window each display channel in its own
    HU scale (``window_widths_hu``); ``beta`` steps towards a Gaussian blur of
    ``sigma_px`` pixels. At (0, 1, 0) the detector sees exactly the images of identity mode.

    Which channels are re-windowed: by default the soft-tissue and the wide channel. The
    local-contrast channel of ``LocalContrastWindow`` is a difference of two blurs of the HU,
    shown through -60..60 HU: its values are HU differences to the surroundings, not HU
    levels, so a level offset has no meaning there; it is left as it is (``None``) and only
    denoised. Give its width (120) in ``window_widths_hu`` to re-window it too.

    Modes:
        ``'learned'``: ``regressor`` (a :class:`WindowDenoiseRegressor`) predicts the three
        parameters from the key slice (the middle channel).
        ``'fixed'``: ``fixed_params`` = (level offset in HU, width scale, denoising strength)
        for every image.
        ``'identity'``: no enhancement (the detector alone).

    The parameters used are written into each data sample's metainfo as
    ``window_level_offset_hu``, ``window_width_scale`` and ``denoise_strength`` (floats;
    ``None`` in identity mode).

    Args:
        regressor: config of a :class:`WindowDenoiseRegressor` (required in learned mode).
        mode: one of ``'learned'``, ``'fixed'``, ``'identity'``.
        fixed_params: (level offset in HU, width scale > 0, denoising strength in [0, 1]) of
            fixed mode; ``(0, 1, 0)`` is the identity.
        window_widths_hu: the HU width of each input channel's display window, ``None`` for a
            channel that is not re-windowed. The default fits ``LocalContrastWindow`` with the
            windows of ``configs/_base_/datasets/synthetic_deeplesion.py``.
        sigma_px: the denoising Gaussian's standard deviation in pixels.
        intensity_max: the inputs' white level (255 for the HU windows).
        **kwargs: :class:`mmdet.models.DetDataPreprocessor` arguments (mean, std, padding, ...).

    The attributes ``keep_original`` and ``sample_params`` are set by the model that owns it
    (:class:`PerImageEnhancementPreprocessor`).
    """

    def __init__(
        self,
        regressor: dict | None = None,
        mode: str = 'learned',
        fixed_params: Sequence[float] | None = None,
        window_widths_hu: Sequence[float | None] = LOCAL_CONTRAST_WINDOW_WIDTHS_HU,
        sigma_px: float = 1.0,
        intensity_max: float = 255.0,
        **kwargs,
    ) -> None:
        super().__init__(regressor, mode, intensity_max, **kwargs)
        if mode == 'fixed' and fixed_params is None:
            raise ValueError(
                "WindowDenoisePreprocessor: mode='fixed' needs fixed_params (level offset HU, "
                'width scale, denoise), e.g. --cfg-options '
                'model.data_preprocessor.fixed_params="[0.0,0.8,0.3]"'
            )
        if fixed_params is not None:
            if len(fixed_params) != 3:
                raise ValueError(
                    'WindowDenoisePreprocessor: fixed_params must be (level offset HU, width '
                    f'scale, denoise), got {fixed_params}'
                )
            offset, scale, beta = (float(v) for v in fixed_params)
            if not scale > 0 or not 0 <= beta <= 1:
                raise ValueError(
                    'WindowDenoisePreprocessor: fixed_params needs width scale > 0 and denoise '
                    f'in [0, 1], got {fixed_params}'
                )
            fixed_params = (offset, scale, beta)
        if any(w is not None and not w > 0 for w in window_widths_hu):
            raise ValueError(
                'WindowDenoisePreprocessor: window_widths_hu must be widths > 0 HU or None, '
                f'got {list(window_widths_hu)}'
            )
        if not sigma_px > 0:
            raise ValueError(f'WindowDenoisePreprocessor: sigma_px must be > 0, got {sigma_px}')
        self.fixed_params = fixed_params
        self.window_widths_hu = tuple(None if w is None else float(w) for w in window_widths_hu)
        self.sigma_px = float(sigma_px)

    def predict_params(
        self, inputs: list[torch.Tensor], training: bool = False
    ) -> tuple[tuple[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor | None]:
        """((level offset HU, width scale, denoise), each ``(B,)``) for ``inputs`` (each
        ``(C, H, W)`` in [0, intensity_max]) and their policy log probability ``(B,)`` or
        ``None``; fixed or learned mode."""
        if self.mode == 'fixed':
            return tuple(inputs[0].new_full((len(inputs),), v) for v in self.fixed_params), None
        return self.regress(inputs, training)

    def enhance_batch(
        self, inputs: list[torch.Tensor], training: bool = False
    ) -> tuple[list[torch.Tensor], dict[str, torch.Tensor | None], torch.Tensor | None]:
        """Enhance ``inputs`` (each ``(C, H, W)`` float in [0, intensity_max]); the parameters
        under :data:`WINDOW_DENOISE_KEYS` (all ``None`` in identity mode)."""
        if self.mode == 'identity':
            return inputs, dict.fromkeys(WINDOW_DENOISE_KEYS), None
        (offset, scale, beta), log_prob = self.predict_params(inputs, training)
        channels = {x.shape[0] for x in inputs}
        if channels != {len(self.window_widths_hu)}:
            raise ValueError(
                f'WindowDenoisePreprocessor: images with {sorted(channels)} channels, but '
                f'window_widths_hu gives {len(self.window_widths_hu)}: one width (HU) or None '
                'per channel of the HU window transform'
            )

        def enhance_group(indices: list[int]) -> torch.Tensor:
            return window_denoise(
                torch.stack([inputs[i] for i in indices]),
                offset[indices],
                scale[indices],
                beta[indices],
                self.window_widths_hu,
                self.sigma_px,
                self.intensity_max,
            )

        enhanced = enhance_by_size(inputs, enhance_group)
        return (
            enhanced,
            dict(zip(WINDOW_DENOISE_KEYS, (offset, scale, beta), strict=True)),
            log_prob,
        )
