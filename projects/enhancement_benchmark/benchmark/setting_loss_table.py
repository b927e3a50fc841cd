"""The frozen detector's loss on every slice under every setting of a policy: the table a
:class:`~mmlesion.models.regressors.SettingPolicy` trains from.

One pass over a split: each batch, read once, is enhanced with each of the policy's ``K``
settings in turn (``PolicyEnhancementPreprocessor.setting_index``) and given to the frozen
detector twice: its training loss per slice (RPN + R-CNN, each slice alone, the samplers seeded
by the slice so that every setting draws alike wherever the proposals agree) and its predictions
(scored per slice as the oracle scores them: COCO AP@[.50:.95] and the false positives' summed
score). A policy then trains for many epochs from the table without the detector.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from mmlesion.models.regressors.setting_policy import EnhancementSetting, normalise_settings
from mmlesion.utils import load_config

from .oracle import false_positive_score, slice_ap

#: The per-slice losses a policy can train on (``LossTable.losses``).
LOSS_KINDS = ('detector_loss', 'slice_ap')


@dataclass
class LossTable:
    """Per setting and slice of one split, the frozen detector's loss and per-slice scores.

    Attributes:
        settings: the ``K`` settings (``None`` = identity), in the policy's order.
        img_ids: the ``N`` slices' ``img_id``, in data order.
        detector_loss: ``(K, N)`` the detector's total training loss on the slice alone.
        slice_ap: ``(K, N)`` the slice's own COCO AP@[.50:.95] in [0, 1] (0 without lesions).
        fp_score: ``(K, N)`` the summed score of the slice's false positives (IoU 0.5).
        split: the split.
    """

    settings: list[EnhancementSetting]
    img_ids: list[str]
    detector_loss: np.ndarray
    slice_ap: np.ndarray
    fp_score: np.ndarray
    split: str

    def losses(self, kind: str = 'detector_loss') -> np.ndarray:
        """``(N, K)`` float32 ``ℓ_k`` of each slice: the detector's loss, or ``1 − slice AP``."""
        if kind == 'detector_loss':
            values = self.detector_loss
        elif kind == 'slice_ap':
            values = 1.0 - self.slice_ap
        else:
            raise ValueError(f'loss kind must be one of {LOSS_KINDS}, got {kind!r}')
        return np.ascontiguousarray(values.T, dtype=np.float32)

    def save(self, path: str | Path) -> None:
        """Write the table as ``.npz`` (identity stored as a NaN setting row)."""
        settings = np.array(
            [(np.nan, np.nan) if s is None else s for s in self.settings], dtype=np.float64
        )
        np.savez_compressed(
            path,
            settings=settings,
            img_ids=np.array(self.img_ids, dtype=str),
            detector_loss=self.detector_loss,
            slice_ap=self.slice_ap,
            fp_score=self.fp_score,
            split=np.array(self.split),
        )

    @classmethod
    def load(cls, path: str | Path) -> LossTable:
        with np.load(path, allow_pickle=False) as data:
            settings = [None if np.isnan(row).any() else tuple(row) for row in data['settings']]
            return cls(
                settings=normalise_settings(settings),
                img_ids=data['img_ids'].tolist(),
                detector_loss=data['detector_loss'],
                slice_ap=data['slice_ap'],
                fp_score=data['fp_score'],
                split=str(data['split']),
            )


def build_policy_model(config: str, cfg_options: Mapping | None = None):
    """The ``FrozenDetectorEnhancer`` of a policy config, in eval mode, and its config.

    Raises:
        ValueError: the config's ``model.data_preprocessor`` is not a
            ``PolicyEnhancementPreprocessor``.
    """
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope

    from mmlesion.models import PolicyEnhancementPreprocessor
    from mmlesion.utils import register_all_modules

    register_all_modules()
    cfg = load_config(config, dict(cfg_options or {}))
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = MODELS.build(cfg.model)
    if not isinstance(model.data_preprocessor, PolicyEnhancementPreprocessor):
        raise ValueError(
            f'{config}: model.data_preprocessor must be a PolicyEnhancementPreprocessor, got '
            f'{type(model.data_preprocessor).__name__}'
        )
    return model.eval(), cfg


def split_dataloader(cfg, split: str):
    """The config's ``test_dataloader`` (test pipeline, data order) over ``split``."""
    from mmengine.runner import Runner

    loader = cfg.test_dataloader.copy()
    loader.dataset = {**loader.dataset, 'split': split}
    return Runner.build_dataloader(loader)


def compute_loss_table(
    config: str,
    detector_checkpoint: str,
    split: str,
    cfg_options: Mapping | None = None,
    seed: int = 0,
    desc: str = '',
) -> LossTable:
    """The loss table of ``split`` for the policy config ``config`` (its settings).

    Args:
        config: a policy config (``FrozenDetectorEnhancer`` + ``PolicyEnhancementPreprocessor``).
        detector_checkpoint: the trained detector.
        split: the split of the data set (``'train'``, ``'val'``).
        cfg_options: overrides of the config (data root, ...).
        seed: the samplers of slice ``i`` are seeded with ``seed + i`` for every setting.
    """
    from mmlesion.evaluation import DeepLesionMetric

    options = {**dict(cfg_options or {}), 'model.detector_checkpoint': detector_checkpoint}
    model, cfg = build_policy_model(config, options)
    dataloader = split_dataloader(cfg, split)
    preprocessor = model.data_preprocessor
    settings = preprocessor.settings
    losses: list[list[float]] = [[] for _ in settings]
    records: list[list[dict]] = [[] for _ in settings]
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    index = 0
    with torch.no_grad():
        for batch in tqdm(dataloader, desc=desc or f'loss table ({split})', disable=None):
            for k in range(len(settings)):
                preprocessor.setting_index = k
                data = preprocessor(batch, False)
                inputs, samples = data['inputs'], data['data_samples']
                for i in range(len(samples)):
                    with torch.random.fork_rng(devices=devices):
                        torch.manual_seed(seed + index + i)
                        parts = model.detector.loss(inputs[i : i + 1], [samples[i].clone()])
                        total, _ = model.detector.parse_losses(parts)
                    losses[k].append(float(total))
                outputs = model.predict(inputs, [s.clone() for s in samples])
                metric = DeepLesionMetric()
                metric.process({}, outputs)
                for record, sample in zip(metric.results, outputs, strict=True):
                    record['img_id'] = sample.metainfo.get('img_id')
                records[k].extend(metric.results)
            index += len(batch['data_samples'])
    preprocessor.setting_index = None
    num_classes = len(dataloader.dataset.metainfo['classes']) or None
    return LossTable(
        settings=list(settings),
        img_ids=[r['img_id'] for r in records[0]],
        detector_loss=np.array(losses, dtype=np.float64),
        slice_ap=np.stack([slice_ap(r, num_classes) for r in records]),
        fp_score=np.stack([false_positive_score(r) for r in records]),
        split=split,
    )
