"""A detection data preprocessor that enhances each image with its own CLAHE parameters."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from mmdet.models.data_preprocessors import DetDataPreprocessor
from mmdet.registry import MODELS

from mmlesion.enhancement import blend, clahe, glcae

ENHANCEMENT_MODES = ('learned', 'fixed', 'identity')
ENHANCEMENT_METHODS = ('glcae', 'clahe')


@MODELS.register_module()
class AdaptiveCLAHEPreprocessor(DetDataPreprocessor):
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

    Attributes set by the model that owns it:
        keep_original: in training, also return the un-enhanced normalised batch as
            ``original_inputs`` (the objectives compare the detector on both).
        sample_params: in training, draw parameters from the regressor's Gaussian policy and
            return their log probability as ``param_log_prob`` (the reinforce objective).
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
        super().__init__(**kwargs)
        if mode not in ENHANCEMENT_MODES:
            raise ValueError(f'mode must be one of {ENHANCEMENT_MODES}, got {mode!r}')
        if method not in ENHANCEMENT_METHODS:
            raise ValueError(f'method must be one of {ENHANCEMENT_METHODS}, got {method!r}')
        if mode == 'learned' and regressor is None:
            raise ValueError("mode='learned' needs a regressor config")
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
        self.mode = mode
        self.method = method
        self.fixed_params = (
            None if fixed_params is None else (float(fixed_params[0]), float(fixed_params[1]))
        )
        self.fixed_alpha = None if fixed_alpha is None else float(fixed_alpha)
        self.intensity_max = float(intensity_max)
        self.regressor = MODELS.build(regressor) if regressor is not None else None
        self.keep_original = False
        self.sample_params = False

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, torch.Tensor):
            inputs = list(inputs)
        data_samples = data.get('data_samples')
        enhanced, clip, grid, alpha, log_prob = self.enhance([x.float() for x in inputs], training)
        if data_samples is not None:
            clips = [None] * len(inputs) if clip is None else clip.detach().tolist()
            grids = [None] * len(inputs) if grid is None else grid.detach().tolist()
            for sample, clip_i, grid_i in zip(data_samples, clips, grids, strict=True):
                sample.set_metainfo({'clahe_clip_limit': clip_i, 'clahe_grid_size': grid_i})
            if alpha is not None:
                for sample, alpha_i in zip(data_samples, alpha.detach().tolist(), strict=True):
                    sample.set_metainfo({'clahe_alpha': alpha_i})
        out = super().forward({'inputs': enhanced, 'data_samples': data_samples}, training)
        if training and self.keep_original:
            original = super().forward({'inputs': inputs, 'data_samples': data_samples}, training)
            out['original_inputs'] = original['inputs']
        if log_prob is not None:
            out['param_log_prob'] = log_prob
        return out

    def predict_params(
        self, images: list[torch.Tensor], training: bool = False
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
        """(clip ``(B,)``, grid ``(B,)``, alpha ``(B,)`` or ``None`` without the gate, log prob
        ``(B,)`` or ``None``) for ``images``, each ``(C, H, W)`` in [0, 1]; all ``None`` in
        identity mode.

        The regressor runs once over the whole batch, also when the images differ in size:
        their key slices (middle channel) are resized to the regressor's input first.
        """
        if self.mode == 'identity':
            return None, None, None, None
        if self.mode == 'fixed':
            clip = images[0].new_full((len(images),), self.fixed_params[0])
            grid = images[0].new_full((len(images),), self.fixed_params[1])
            alpha = None
            if self.fixed_alpha is not None:
                alpha = images[0].new_full((len(images),), self.fixed_alpha)
            return clip, grid, alpha, None
        key_slices = [x[x.shape[0] // 2][None, None] for x in images]
        if len({k.shape for k in key_slices}) > 1:
            side = self.regressor.input_size
            key_slices = [
                F.interpolate(k, size=(side, side), mode='bilinear', align_corners=False)
                for k in key_slices
            ]
        key_slice = torch.cat(key_slices)
        if training and self.sample_params:
            *params, log_prob = self.regressor.sample(key_slice)
        else:
            params, log_prob = self.regressor(key_slice), None
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
        input bit for bit.

        Returns:
            The enhanced images (same shapes and range), and the per-image clip limits,
            grid sizes, gate weights and policy log probabilities (``None`` where they do not
            apply).
        """
        if self.mode == 'identity':
            return inputs, None, None, None, None
        images = [(x / self.intensity_max).clamp(0, 1) for x in inputs]
        clip, grid, alpha, log_prob = self.predict_params(images, training)
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, x in enumerate(images):
            groups.setdefault(tuple(x.shape), []).append(i)
        enhance = glcae if self.method == 'glcae' else clahe
        enhanced: list[torch.Tensor | None] = [None] * len(inputs)
        for indices in groups.values():
            index = torch.as_tensor(indices, device=clip.device)
            result = enhance(torch.stack([images[i] for i in indices]), clip[index], grid[index])
            result = result * self.intensity_max
            if alpha is not None:
                result = blend(torch.stack([inputs[i] for i in indices]), result, alpha[index])
            for j, i in enumerate(indices):
                enhanced[i] = result[j]
        return enhanced, clip, grid, alpha, log_prob
