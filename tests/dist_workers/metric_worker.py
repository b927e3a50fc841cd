"""Run by tests/test_distributed.py under torchrun (gloo, CPU): DeepLesionMetric over the ranks.

Each rank processes the items mmengine's DefaultSampler gives it (padded so that every rank has
as many) and the metric collects them; rank 0 writes the metrics and each rank's indices.

    python -m torch.distributed.run --nproc_per_node 2 metric_worker.py OUT.json NUM_IMAGES
"""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import torch
import torch.distributed as dist
from mmdet.structures import DetDataSample
from mmengine.dataset import DefaultSampler
from mmengine.structures import InstanceData

from mmlesion.evaluation import DeepLesionMetric


def metric_samples(num_images: int, seed: int = 0) -> list[DetDataSample]:
    """Seeded images with one or two lesions, near-miss and false-positive predictions, so that
    every image changes the metrics (a lost or doubled one would show)."""
    rng = np.random.default_rng(seed)
    samples = []
    for index in range(num_images):
        num_lesions = 1 + index % 2
        corners = rng.uniform(20, 400, (num_lesions, 2))
        sizes = rng.uniform(8, 60, (num_lesions, 2))
        gt = np.hstack([corners, corners + sizes]).astype(np.float32)
        jitter = rng.normal(0, 4 + 3 * index, gt.shape).astype(np.float32)
        false = rng.uniform(0, 480, (2, 2))
        predictions = np.vstack([gt + jitter, np.hstack([false, false + 20])]).astype(np.float32)
        sample = DetDataSample(
            metainfo={
                'img_id': f'image_{index}',
                'spacing_mm': (0.8, 0.8, 2.0),
                'lesion_diameters_mm': list(sizes.max(axis=1) * 0.8),
                'lesion_types': [1 + (index + k) % 8 for k in range(num_lesions)],
            }
        )
        sample.gt_instances = InstanceData(
            bboxes=torch.from_numpy(gt), labels=torch.zeros(num_lesions, dtype=torch.long)
        )
        sample.pred_instances = InstanceData(
            bboxes=torch.from_numpy(predictions),
            scores=torch.from_numpy(rng.uniform(0.05, 1, len(predictions)).astype(np.float32)),
            labels=torch.zeros(len(predictions), dtype=torch.long),
        )
        samples.append(sample)
    return samples


def finite_or_none(metrics: dict) -> dict:
    return {k: (v if math.isfinite(v) else None) for k, v in metrics.items()}


def main(out_path: str, num_images: int) -> None:
    dist.init_process_group('gloo')
    samples = metric_samples(num_images)
    sampler = DefaultSampler(list(range(num_images)), shuffle=False)
    indices = list(sampler)
    metric = DeepLesionMetric()
    metric.dataset_meta = {'classes': ('lesion',)}
    # Batches of two, as a test loop would pass them.
    for start in range(0, len(indices), 2):
        metric.process({}, [samples[i] for i in indices[start : start + 2]])
    metrics = metric.evaluate(num_images)
    gathered: list[list[int] | None] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, indices)
    if dist.get_rank() == 0:
        with open(out_path, 'w') as f:
            json.dump({'metrics': finite_or_none(metrics), 'indices': gathered}, f)
    dist.destroy_process_group()


if __name__ == '__main__':
    main(sys.argv[1], int(sys.argv[2]))
