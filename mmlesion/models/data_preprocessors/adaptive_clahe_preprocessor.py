"""A detection data preprocessor that enhances each image with its own CLAHE parameters."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from mmdet.models.data_preprocessors import DetDataPreprocessor
from mmdet.registry import MODELS

from mmlesion.enhancement import clahe, glcae

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

    The parameters used are written into each data sample's metainfo as ``clahe_clip_limit``
    and ``clahe_grid_size`` (floats), ``None`` in identity mode.

    Args:
        regressor: config of a :class:`CLAHEParamRegressor` (required in learned mode).
        mode: one of ``'learned'``, ``'fixed'``, ``'identity'``.
        fixed_params: (clip limit, grid size) of fixed mode.
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
        self.mode = mode
        self.method = method
        self.fixed_params = (
            None if fixed_params is None else (float(fixed_params[0]), float(fixed_params[1]))
        )
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
        enhanced, clip, grid, log_prob = self.enhance([x.float() for x in inputs], training)
        if data_samples is not None:
            clips = [None] * len(inputs) if clip is None else clip.detach().tolist()
            grids = [None] * len(inputs) if grid is None else grid.detach().tolist()
            for sample, clip_i, grid_i in zip(data_samples, clips, grids, strict=True):
                sample.set_metainfo({'clahe_clip_limit': clip_i, 'clahe_grid_size': grid_i})
        out = super().forward({'inputs': enhanced, 'data_samples': data_samples}, training)
        if training and self.keep_original:
            original = super().forward({'inputs': inputs, 'data_samples': data_samples}, training)
            out['original_inputs'] = original['inputs']
        if log_prob is not None:
            out['param_log_prob'] = log_prob
        return out

    def predict_params(
        self, images: list[torch.Tensor], training: bool = False
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
        """(clip ``(B,)``, grid ``(B,)``, log prob ``(B,)`` or ``None``) for ``images``, each
        ``(C, H, W)`` in [0, 1]; ``(None, None, None)`` in identity mode.

        The regressor runs once over the whole batch, also when the images differ in size:
        their key slices (middle channel) are resized to the regressor's input first.
        """
        if self.mode == 'identity':
            return None, None, None
        if self.mode == 'fixed':
            clip = images[0].new_full((len(images),), self.fixed_params[0])
            grid = images[0].new_full((len(images),), self.fixed_params[1])
            return clip, grid, None
        key_slices = [x[x.shape[0] // 2][None, None] for x in images]
        if len({k.shape for k in key_slices}) > 1:
            side = self.regressor.input_size
            key_slices = [
                F.interpolate(k, size=(side, side), mode='bilinear', align_corners=False)
                for k in key_slices
            ]
        key_slice = torch.cat(key_slices)
        if training and self.sample_params:
            return self.regressor.sample(key_slice)
        clip, grid = self.regressor(key_slice)
        return clip, grid, None

    def enhance(
        self, inputs: list[torch.Tensor], training: bool = False
    ) -> tuple[list[torch.Tensor], torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
        """Enhance ``inputs`` (each ``(C, H, W)`` float in [0, intensity_max]).

        The parameters are predicted for the whole batch at once; the enhancement runs on
        images of equal size as one batch, so a batch of mixed sizes (e.g. after
        ``RescaleToSpacing``) is enhanced group by group.

        Returns:
            The enhanced images (same shapes and range), and the per-image clip limits,
            grid sizes and policy log probabilities (``None`` where they do not apply).
        """
        if self.mode == 'identity':
            return inputs, None, None, None
        images = [(x / self.intensity_max).clamp(0, 1) for x in inputs]
        clip, grid, log_prob = self.predict_params(images, training)
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, x in enumerate(images):
            groups.setdefault(tuple(x.shape), []).append(i)
        enhance = glcae if self.method == 'glcae' else clahe
        enhanced: list[torch.Tensor | None] = [None] * len(inputs)
        for indices in groups.values():
            index = torch.as_tensor(indices, device=clip.device)
            result = enhance(torch.stack([images[i] for i in indices]), clip[index], grid[index])
            for j, i in enumerate(indices):
                enhanced[i] = result[j] * self.intensity_max
        return enhanced, clip, grid, log_prob
