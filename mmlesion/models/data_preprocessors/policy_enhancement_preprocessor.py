"""A detection data preprocessor that enhances each image with the setting a policy chose."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from mmdet.models.data_preprocessors import DetDataPreprocessor
from mmdet.registry import MODELS

from mmlesion.enhancement import clahe, glcae

ENHANCEMENT_METHODS = {'glcae': glcae, 'clahe': clahe}


@MODELS.register_module()
class PolicyEnhancementPreprocessor(DetDataPreprocessor):
    """Enhance every image with one of a :class:`SettingPolicy`'s ``K`` settings, then normalise
    and pad.

    The inputs arrive as HU-windowed intensities in [0, ``intensity_max``]; the policy scores
    the settings from the whole image ``x / intensity_max`` and the setting of the largest logit
    is applied, channel by channel, before mmdet's normalisation and padding. An image whose
    setting is identity (``None``) is passed on as it came: the detector then sees exactly what
    it sees without an enhancer.

    ``setting_index`` (an attribute, ``None`` by default) overrides the policy: every image gets
    that setting. The per-slice loss table of the policy's training (K passes of the frozen
    detector, one per setting) is computed that way.

    The policy trains from that table, not through :class:`FrozenDetectorEnhancer`'s objectives
    (argmax has no gradient): training mode is refused. In front of the frozen detector it is
    evaluated like any enhancer (``tools/test.py``), its weights under
    ``data_preprocessor.regressor.*`` (the name :class:`FrozenDetectorEnhancer` loads from an
    ``enhancer_checkpoint``).

    Each data sample's metainfo gets ``enhancement_setting`` (the index), ``setting_probs``
    (the policy's ``K`` probabilities, a list; ``None`` under ``setting_index``) and
    ``clahe_clip_limit`` / ``clahe_grid_size`` (``None`` for identity).

    Args:
        regressor: config of a :class:`SettingPolicy`.
        method: ``'glcae'`` (global + local fusion) or ``'clahe'`` (local only).
        intensity_max: the inputs' white level (255 for ``HUWindow``).
        **kwargs: :class:`mmdet.models.DetDataPreprocessor` arguments (mean, std, padding, ...).

    Attributes set by the model that owns it (kept for :class:`FrozenDetectorEnhancer`, unused
    here): ``keep_original``, ``sample_params``.
    """

    def __init__(
        self,
        regressor: dict,
        method: str = 'glcae',
        intensity_max: float = 255.0,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if method not in ENHANCEMENT_METHODS:
            raise ValueError(f'method must be one of {tuple(ENHANCEMENT_METHODS)}, got {method!r}')
        self.method = method
        self.intensity_max = float(intensity_max)
        self.regressor = MODELS.build(regressor)
        self.setting_index: int | None = None
        self.keep_original = False
        self.sample_params = False

    @property
    def settings(self) -> list:
        return self.regressor.settings

    def forward(self, data: dict, training: bool = False) -> dict:
        if training:
            raise RuntimeError(
                'PolicyEnhancementPreprocessor does not train through the detector: train the '
                'policy from its per-slice loss table '
                '(projects/enhancement_benchmark/tools/train_policy.py)'
            )
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, torch.Tensor):
            inputs = list(inputs)
        data_samples = data.get('data_samples')
        enhanced, chosen, probs = self.enhance(inputs)
        if data_samples is not None:
            for i, sample in enumerate(data_samples):
                setting = self.settings[chosen[i]]
                sample.set_metainfo(
                    {
                        'enhancement_setting': chosen[i],
                        'setting_probs': None if probs is None else probs[i].tolist(),
                        'clahe_clip_limit': None if setting is None else setting[0],
                        'clahe_grid_size': None if setting is None else setting[1],
                    }
                )
        return super().forward({'inputs': enhanced, 'data_samples': data_samples}, training)

    def choose(self, images: list[torch.Tensor]) -> tuple[list[int], torch.Tensor | None]:
        """Each image's setting index, and the policy's probabilities ``(B, K)`` (``None``
        under ``setting_index``), for ``images`` each ``(C, H, W)`` in [0, 1]."""
        if self.setting_index is not None:
            if not 0 <= self.setting_index < len(self.settings):
                raise ValueError(
                    f"setting_index {self.setting_index} is not one of the policy's "
                    f'{len(self.settings)} settings'
                )
            return [self.setting_index] * len(images), None
        if len({x.shape for x in images}) > 1:
            if self.regressor.input_size is None:
                raise ValueError(
                    'images of different sizes in one batch: give the policy an input_size '
                    '(model.data_preprocessor.regressor.input_size)'
                )
            side = self.regressor.input_size
            images = [
                F.interpolate(x[None], size=(side, side), mode='bilinear', align_corners=False)[0]
                for x in images
            ]
        with torch.no_grad():
            logits = self.regressor(torch.stack(images))
        return logits.argmax(dim=1).tolist(), torch.softmax(logits, dim=1)

    def enhance(
        self, inputs: list[torch.Tensor]
    ) -> tuple[list[torch.Tensor], list[int], torch.Tensor | None]:
        """Enhance ``inputs`` (each ``(C, H, W)`` in [0, intensity_max]) with their settings.

        Returns:
            The images (identity: the input tensor itself, unchanged; otherwise enhanced, same
            shape and range, float), each image's setting index, and the policy's probabilities
            ``(B, K)`` (``None`` under ``setting_index``).
        """
        images = [(x.float() / self.intensity_max).clamp(0, 1) for x in inputs]
        chosen, probs = self.choose(images)
        out: list[torch.Tensor] = list(inputs)
        groups: dict[tuple, list[int]] = {}
        for i, (x, index) in enumerate(zip(images, chosen, strict=True)):
            if self.settings[index] is not None:
                groups.setdefault((index, tuple(x.shape)), []).append(i)
        enhance = ENHANCEMENT_METHODS[self.method]
        for (index, _), members in groups.items():
            batch = torch.stack([images[i] for i in members])
            # Per-image parameter tensors, as AdaptiveCLAHEPreprocessor's fixed mode passes them:
            # a setting here gives the same pixels as that preprocessor's fixed_params.
            clip, grid = (batch.new_full((len(members),), v) for v in self.settings[index])
            result = enhance(batch, clip, grid)
            for j, i in enumerate(members):
                out[i] = result[j] * self.intensity_max
        return out, chosen, probs
