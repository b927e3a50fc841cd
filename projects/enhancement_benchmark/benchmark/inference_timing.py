"""Timing the detector's inference with and without the enhancer in front of it."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from mmlesion.utils import load_config


@dataclass(frozen=True)
class InferenceTiming:
    """Per-image inference cost on pre-loaded batches (data loading excluded).

    ``enhancement_ms`` is the regressor + GLCAE share measured on its own;
    ``overhead_pct`` = enhancement time / detector-alone time × 100.
    """

    device: str
    batch_size: int
    num_images: int
    detector_ms: float
    enhanced_ms: float
    enhancement_ms: float

    @property
    def overhead_pct(self) -> float:
        return 100.0 * self.enhancement_ms / self.detector_ms

    def as_dict(self) -> dict:
        return {
            **asdict(self),
            'detector_img_per_s': 1000.0 / self.detector_ms,
            'enhanced_img_per_s': 1000.0 / self.enhanced_ms,
            'overhead_pct': self.overhead_pct,
        }


def _build_model(cfg: Config, checkpoint: str | None, device: str):
    import warnings

    from mmdet.registry import MODELS

    with warnings.catch_warnings():
        # Without a checkpoint the weights are random on purpose: only the time counts.
        warnings.filterwarnings('ignore', message='FrozenDetectorEnhancer: detector_checkpoint')
        model = MODELS.build(cfg.model)
    if checkpoint is not None:
        load_checkpoint(model, checkpoint, map_location='cpu', logger='silent')
    return model.to(device).eval()


def _synchronize(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def _per_image_ms(step, batches, device: str, repeats: int) -> float:
    step(batches[0])  # warm-up (allocations, cudnn, caches)
    _synchronize(device)
    start = time.perf_counter()
    images = 0
    for _ in range(repeats):
        for batch in batches:
            step(batch)
            images += len(batch['inputs'])
    _synchronize(device)
    return 1000.0 * (time.perf_counter() - start) / images


@torch.no_grad()
def time_inference(
    enhancer_config: str,
    enhancer_checkpoint: str | None,
    cfg_options: dict | None = None,
    num_batches: int = 4,
    batch_size: int = 8,
    repeats: int = 5,
    device: str | None = None,
) -> InferenceTiming:
    """Time ``model.test_step`` of the learned pipeline against the same frozen detector with
    the enhancement switched off (identity mode), on ``num_batches`` test batches.

    Args:
        enhancer_config: a ``FrozenDetectorEnhancer`` config in learned mode.
        enhancer_checkpoint: its trained checkpoint (holds regressor and detector); None times
            random weights (the cost of a forward pass hardly depends on them).
    """
    from mmdet.registry import DATASETS

    device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
    cfg = load_config(enhancer_config, cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    count = min(len(dataset), num_batches * batch_size)
    samples = [dataset[i] for i in range(count)]
    batches = [pseudo_collate(samples[i : i + batch_size]) for i in range(0, count, batch_size)]

    learned = _build_model(cfg, enhancer_checkpoint, device)
    identity_cfg = cfg.copy()
    identity_cfg.model.data_preprocessor.mode = 'identity'
    identity = _build_model(identity_cfg, enhancer_checkpoint, device)

    def enhance_only(batch):
        learned.data_preprocessor(batch, False)

    def identity_preprocess(batch):
        identity.data_preprocessor(batch, False)

    detector_ms = _per_image_ms(identity.test_step, batches, device, repeats)
    enhanced_ms = _per_image_ms(learned.test_step, batches, device, repeats)
    # The enhancement's own cost: learned preprocessing minus plain normalisation/padding.
    enhancement_ms = _per_image_ms(enhance_only, batches, device, repeats) - _per_image_ms(
        identity_preprocess, batches, device, repeats
    )
    return InferenceTiming(
        device=torch.cuda.get_device_name() if device.startswith('cuda') else 'cpu',
        batch_size=batch_size,
        num_images=count,
        detector_ms=detector_ms,
        enhanced_ms=enhanced_ms,
        enhancement_ms=max(enhancement_ms, 0.0),
    )
