"""A detection data preprocessor that enhances each image with its own CLAHE parameters."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from mmdet.registry import MODELS

from mmlesion.enhancement import blend, clahe, glcae

from .per_image_enhancement_preprocessor import PerImageEnhancementPreprocessor, enhance_by_size

ENHANCEMENT_METHODS = ('glcae', 'clahe')


@MODELS.register_module()
class AdaptiveCLAHEPreprocessor(PerImageEnhancementPreprocessor):
    """Enhance every image with per-image (clip limit, grid size), then normalise and pad.

    The inputs arrive as HU-windowed intensities in [0, ``intensity_max``] (``HUWindow``); the
    enhancement runs on ``x / intensity_max`` in [0, 1], channel by channel with the image's
    parameters, before mmdet's usual normalisation and padding (so padding never enters the
    histograms).

    Modes:
        ``'learned'``: ``regressor`` predicts (clip, grid) from the key slice (the middle channel).
        ``'fixed'``: ``fixed_params`` for every image (``(2.0, 8)`` = the reference code's GLCAE).
        ``'identity'``: no enhancement (the detector alone).

    The blend gate (off by default: the paper's enhancer) feeds the detector
    ``x + alpha * (E(x; clip, grid) - x)`` instead of ``E(x; clip, grid)``, with ``alpha`` in
    [0, 1] per image: predicted by the regressor when it has the gate
    (``regressor=dict(..., gate=True)``), or ``fixed_alpha`` in fixed mode. ``alpha = 0`` gives
    the detector exactly the images of identity mode (:func:`~mmlesion.enhancement.blend`).

    The parameters used are written into each data sample's metainfo as ``clahe_clip_limit``
    and ``clahe_grid_size`` (floats), ``None`` in identity mode, and with the gate on also
    ``clahe_alpha`` (float; the key is absent when the gate is off).

    Args:
        regressor: config of a :class:`CLAHEParamRegressor` (required in learned mode).
        mode: one of ``'learned'``, ``'fixed'``, ``'identity'``.
        fixed_params: (clip limit, grid size) of fixed mode.
        fixed_alpha: the blend gate's ``alpha`` in [0, 1] for every image in fixed mode;
            ``None`` (the default) = no gate. In learned mode the regressor's gate head
            predicts ``alpha`` instead.
        method: ``'glcae'`` (global + local fusion, the paper's) or ``'clahe'`` (local only).
        intensity_max: the inputs' white level (255 for ``HUWindow``).
        **kwargs: :class:`mmdet.models.DetDataPreprocessor` arguments (mean, std, padding, ...).

    The attributes ``keep_original`` and ``sample_params`` are set by the model that owns it
    (:class:`PerImageEnhancementPreprocessor`).
    """

    def __init__(
        self,
        regressor: dict | None = None,
        mode: str = 'learned',
        fixed_params: Sequence[float] | None = (2.0, 8),
        fixed_alpha: float | None = None,
        method: str = 'glcae',
        intensity_max: float = 255.0,
        **kwargs,
    ) -> None:
        if method not in ENHANCEMENT_METHODS:
            raise ValueError(f'method must be one of {ENHANCEMENT_METHODS}, got {method!r}')
        super().__init__(regressor, mode, intensity_max, **kwargs)
        if mode == 'fixed' and fixed_params is None:
            raise ValueError(
                "mode='fixed' needs fixed_params (clip limit, grid size), e.g. --cfg-options "
                'model.data_preprocessor.fixed_params="[8.0,12.0]"'
            )
        if fixed_params is not None and len(fixed_params) != 2:
            raise ValueError(f'fixed_params must be (clip limit, grid size), got {fixed_params}')
        if fixed_alpha is not None:
            if mode == 'learned':
                raise ValueError(
                    "fixed_alpha applies to mode='fixed'; in mode='learned' the regressor "
                    'predicts alpha (regressor=dict(..., gate=True))'
                )
            if not 0.0 <= fixed_alpha <= 1.0:
                raise ValueError(f'fixed_alpha must lie in [0, 1], got {fixed_alpha}')
        self.method = method
        self.fixed_params = (
            None if fixed_params is None else (float(fixed_params[0]), float(fixed_params[1]))
        )
        self.fixed_alpha = None if fixed_alpha is None else float(fixed_alpha)

    def enhance_batch(
        self, inputs: list[torch.Tensor], training: bool = False
    ) -> tuple[list[torch.Tensor], dict[str, torch.Tensor | None], torch.Tensor | None]:
        """:meth:`enhance`, its parameters under their metainfo keys (``clahe_alpha`` only with
        the gate)."""
        enhanced, clip, grid, alpha, log_prob = self.enhance(inputs, training)
        params = {'clahe_clip_limit': clip, 'clahe_grid_size': grid}
        if alpha is not None:
            params['clahe_alpha'] = alpha
        return enhanced, params, log_prob

    def predict_params(
        self, inputs: list[torch.Tensor], training: bool = False
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
        """(clip ``(B,)``, grid ``(B,)``, alpha ``(B,)`` or ``None`` without the gate, log prob
        ``(B,)`` or ``None``) for ``inputs``, each ``(C, H, W)`` in [0, intensity_max]; all
        ``None`` in identity mode (:meth:`regress` in learned mode).
        """
        if self.mode == 'identity':
            return None, None, None, None
        if self.mode == 'fixed':
            clip = inputs[0].new_full((len(inputs),), self.fixed_params[0])
            grid = inputs[0].new_full((len(inputs),), self.fixed_params[1])
            alpha = None
            if self.fixed_alpha is not None:
                alpha = inputs[0].new_full((len(inputs),), self.fixed_alpha)
            return clip, grid, alpha, None
        params, log_prob = self.regress(inputs, training)
        # A gate-off regressor (the paper's) gives (clip, grid), a gated one (clip, grid, alpha).
        clip, grid, alpha = (*params, None)[:3]
        return clip, grid, alpha, log_prob

    def enhance(
        self, inputs: list[torch.Tensor], training: bool = False
    ) -> tuple[
        list[torch.Tensor],
        torch.Tensor | None,
        torch.Tensor | None,
        torch.Tensor | None,
        torch.Tensor | None,
    ]:
        """Enhance ``inputs`` (each ``(C, H, W)`` float in [0, intensity_max]).

        The parameters are predicted for the whole batch at once; the enhancement runs on
        images of equal size as one batch, so a batch of mixed sizes (e.g. after
        ``RescaleToSpacing``) is enhanced group by group. With the gate, each enhanced image is
        blended with its input on the input's own scale, so that ``alpha = 0`` returns the
        input bit for bit; a group whose every ``alpha`` is 0 (a closed gate) is not enhanced
        at all, unless ``alpha`` carries a gradient.

        Returns:
            The enhanced images (same shapes and range), and the per-image clip limits,
            grid sizes, gate weights and policy log probabilities (``None`` where they do not
            apply).
        """
        if self.mode == 'identity':
            return inputs, None, None, None, None
        clip, grid, alpha, log_prob = self.predict_params(inputs, training)

        def enhance_group(indices: list[int]) -> torch.Tensor:
            index = torch.as_tensor(indices, device=clip.device)
            group = torch.stack([inputs[i] for i in indices])
            if alpha is not None and not alpha.requires_grad and not alpha[index].any():
                return group  # what blend gives at alpha = 0, without enhancing first
            result = self.enhance_images(group, clip[index], grid[index])
            if alpha is not None:
                result = blend(group, result, alpha[index])
            return result

        return enhance_by_size(inputs, enhance_group), clip, grid, alpha, log_prob

    def enhance_images(
        self, x: torch.Tensor, clip: torch.Tensor, grid: torch.Tensor
    ) -> torch.Tensor:
        """The enhancement of ``x`` ``(B, C, H, W)`` in [0, intensity_max] with ``(B,)``
        parameters, on the same scale: that of ``(x / intensity_max).clamp(0, 1)``, multiplied
        by ``intensity_max`` (:func:`~mmlesion.enhancement.glcae` computes it so in one pass
        where its fused CPU kernel runs)."""
        if self.method == 'glcae':
            return glcae(x, clip, grid, intensity_max=self.intensity_max)
        return clahe((x / self.intensity_max).clamp(0, 1), clip, grid) * self.intensity_max
