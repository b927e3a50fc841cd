"""What the per-image enhancement preprocessors share: modes, the regressor on the key slices,
enhancement by groups of equal size, the parameters in the metainfo, the original batch."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from mmdet.models.data_preprocessors import DetDataPreprocessor
from mmdet.registry import MODELS

ENHANCEMENT_MODES = ('learned', 'fixed', 'identity')


def enhance_by_size(
    images: list[torch.Tensor], enhance_group: Callable[[list[int]], torch.Tensor]
) -> torch.Tensor | list[torch.Tensor]:
    """Enhance ``images`` (each ``(C, H, W)``) group by group of equal shape.

    A batch of mixed sizes (e.g. after ``RescaleToSpacing``) cannot be stacked; each group of
    equal-size images is enhanced as one batch.

    Args:
        images: the batch's images.
        enhance_group: given the indices of one group, returns its enhanced images
            ``(len(indices), C, H, W)``.

    Returns:
        The enhanced images in the order of ``images``: where they all share one shape, the
        ``(B, C, H, W)`` batch itself (mmengine's preprocessor normalises and pads a batch
        tensor as it does a list, without stacking it again); otherwise a list.
    """
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, x in enumerate(images):
        groups.setdefault(tuple(x.shape), []).append(i)
    if len(groups) == 1:
        return enhance_group(list(range(len(images))))
    enhanced: list[torch.Tensor | None] = [None] * len(images)
    for indices in groups.values():
        result = enhance_group(indices)
        for j, i in enumerate(indices):
            enhanced[i] = result[j]
    return enhanced


class PerImageEnhancementPreprocessor(DetDataPreprocessor):
    """Base of the preprocessors that enhance every image with its own parameters before
    mmdet's normalisation and padding (so padding never enters the enhancement).

    The inputs arrive as HU-windowed intensities in [0, ``intensity_max``]. A subclass
    implements :meth:`enhance_batch`; this class runs it, writes the parameters it used into
    each data sample's metainfo (``None`` where a parameter does not apply, e.g. in identity
    mode), and normalises and pads.

    Modes: ``'learned'`` (the regressor predicts the parameters from the key slice),
    ``'fixed'`` (one setting for every image), ``'identity'`` (no enhancement: the detector
    alone).

    Attributes set by the model that owns it (:class:`FrozenDetectorEnhancer`):
        keep_original: in training, also return the un-enhanced normalised batch as
            ``original_inputs`` (the objectives compare the detector on both).
        sample_params: in training, draw parameters from the regressor's Gaussian policy and
            return their log probability as ``param_log_prob`` (the reinforce objective).
    """

    def __init__(
        self, regressor: dict | None, mode: str, intensity_max: float = 255.0, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        name = type(self).__name__
        if mode not in ENHANCEMENT_MODES:
            raise ValueError(f'{name}: mode must be one of {ENHANCEMENT_MODES}, got {mode!r}')
        if mode == 'learned' and regressor is None:
            raise ValueError(f"{name}: mode='learned' needs a regressor config")
        self.mode = mode
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
        enhanced, params, log_prob = self.enhance_batch([x.float() for x in inputs], training)
        if data_samples is not None:
            for key, values in params.items():
                per_image = [None] * len(inputs) if values is None else values.detach().tolist()
                for sample, value in zip(data_samples, per_image, strict=True):
                    sample.set_metainfo({key: value})
        out = super().forward({'inputs': enhanced, 'data_samples': data_samples}, training)
        if training and self.keep_original:
            original = super().forward({'inputs': inputs, 'data_samples': data_samples}, training)
            out['original_inputs'] = original['inputs']
        if log_prob is not None:
            out['param_log_prob'] = log_prob
        return out

    def enhance_batch(
        self, inputs: list[torch.Tensor], training: bool = False
    ) -> tuple[list[torch.Tensor], dict[str, torch.Tensor | None], torch.Tensor | None]:
        """Enhance ``inputs`` (each ``(C, H, W)`` float in [0, intensity_max]).

        Returns:
            The enhanced images (same shapes and range; a list, or a ``(B, C, H, W)`` batch
            where they share one shape); the parameters used, as
            ``{metainfo key: (B,) tensor, or None where it does not apply}``; the policy's log
            probability ``(B,)`` of sampled parameters, or ``None``.
        """
        raise NotImplementedError

    def regress(
        self, inputs: list[torch.Tensor], training: bool = False
    ) -> tuple[tuple[torch.Tensor, ...], torch.Tensor | None]:
        """The regressor's parameters (one ``(B,)`` tensor per output) for ``inputs`` (each
        ``(C, H, W)`` in [0, intensity_max]), and their log probability ``(B,)`` when they were
        drawn from its policy (training with ``sample_params``), else ``None``.

        The regressor reads each image's key slice (the middle channel) in [0, 1], and runs
        once over the whole batch, also when the images differ in size: their key slices are
        resized to the regressor's input first.
        """
        key_slices = [
            (x[x.shape[0] // 2] / self.intensity_max).clamp(0, 1)[None, None] for x in inputs
        ]
        if len({k.shape for k in key_slices}) > 1:
            side = self.regressor.input_size
            key_slices = [
                F.interpolate(k, size=(side, side), mode='bilinear', align_corners=False)
                for k in key_slices
            ]
        key_slice = torch.cat(key_slices)
        if training and self.sample_params:
            *params, log_prob = self.regressor.sample(key_slice)
            return tuple(params), log_prob
        return self.regressor(key_slice), None
