"""Hard-negative mining on whole training slices for a detector trained on patches."""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence

import numpy as np
import torch
from mmdet.registry import DATASETS, HOOKS
from mmengine.dataset import pseudo_collate
from mmengine.hooks import Hook
from mmengine.logging import print_log
from torch.utils.data import DataLoader
from tqdm import tqdm

from mmlesion.datasets.transforms.random_lesion_crop import RandomLesionCrop
from mmlesion.evaluation.functional import box_overlaps


def select_hard_negatives(
    pred_boxes: np.ndarray,
    pred_scores: np.ndarray,
    gt_boxes: np.ndarray,
    per_slice: int,
    max_iou: float,
    min_score: float,
) -> np.ndarray:
    """The ``per_slice`` best-scored detections that overlap no lesion.

    Args:
        pred_boxes: ``(N, 4)`` detections, pixels.
        pred_scores: ``(N,)`` their scores in [0, 1].
        gt_boxes: ``(M, 4)`` the slice's lesions, pixels.
        per_slice: most negatives kept.
        max_iou: a detection with IoU above this with any lesion is not a negative.
        min_score: detections scored below this are not kept.

    Returns:
        ``(K, 4)`` float32 boxes, ``K <= per_slice``, best score first.
    """
    pred_boxes = np.asarray(pred_boxes, dtype=np.float32).reshape(-1, 4)
    pred_scores = np.asarray(pred_scores, dtype=np.float32).reshape(-1)
    gt_boxes = np.asarray(gt_boxes, dtype=np.float32).reshape(-1, 4)
    keep = pred_scores >= min_score
    if len(gt_boxes) and keep.any():
        keep &= box_overlaps(pred_boxes, gt_boxes).max(1) <= max_iou
    order = np.argsort(-pred_scores[keep], kind='stable')[:per_slice]
    return pred_boxes[keep][order]


def _find_crops(dataset) -> list[RandomLesionCrop]:
    """Every :class:`RandomLesionCrop` in a dataset's pipeline, through dataset wrappers."""
    found = []
    for transform in getattr(getattr(dataset, 'pipeline', None), 'transforms', []):
        if isinstance(transform, RandomLesionCrop):
            found.append(transform)
    for inner in [getattr(dataset, 'dataset', None), *getattr(dataset, 'datasets', [])]:
        if inner is not None:
            found.extend(_find_crops(inner))
    return found


@HOOKS.register_module()
class HardNegativeMiningHook(Hook):
    """Point the background patches of :class:`RandomLesionCrop` at the detector's own errors.

    A detector trained on patches around lesions sees little of the background that, on a
    whole slice, outranks the lesions. Before each epoch in ``mine_at_epochs`` this hook runs
    the model in training on every whole training slice (the test pipeline: no crop, no
    augmentation), keeps on each slice up to ``per_slice`` of its best-scored detections that
    overlap no lesion (IoU <= ``max_iou``), and hands them to the training pipeline's
    :class:`RandomLesionCrop`, whose ``hard_negative_prob`` then places background windows
    around them. The classic bootstrapping of hard negatives (Sung and Poggio), on slices.

    It needs the pipeline in the main process or re-created each epoch: a loader with
    ``persistent_workers=True`` keeps a copy the hook cannot reach (an error says so).

    Args:
        mine_at_epochs: epochs (1-based, as logged) before which to mine.
        per_slice: most hard negatives kept on a slice.
        max_iou: largest IoU with a lesion for a detection to count as background.
        min_score: smallest detection score kept.
        batch_size: slices per forward pass while mining.
        pipeline: the mining pipeline; default: the test loader's.
    """

    priority = 'LOW'

    def __init__(
        self,
        mine_at_epochs: Sequence[int] = (17, 25, 31),
        per_slice: int = 4,
        max_iou: float = 0.1,
        min_score: float = 0.05,
        batch_size: int = 8,
        pipeline: list[dict] | None = None,
    ) -> None:
        if not mine_at_epochs or min(mine_at_epochs) < 1:
            raise ValueError(f'mine_at_epochs must be epochs >= 1, got {mine_at_epochs}')
        if per_slice < 1 or batch_size < 1:
            raise ValueError(
                f'per_slice and batch_size must be >= 1, got {per_slice} and {batch_size}'
            )
        self.mine_at_epochs = tuple(int(e) for e in mine_at_epochs)
        self.per_slice = per_slice
        self.max_iou = max_iou
        self.min_score = min_score
        self.batch_size = batch_size
        self.pipeline = pipeline
        self._crops: list[RandomLesionCrop] = []

    def before_train(self, runner) -> None:
        loader = runner.train_dataloader
        if getattr(loader, 'persistent_workers', False):
            raise ValueError(
                'HardNegativeMiningHook: train_dataloader.persistent_workers=True keeps the '
                'pipeline in worker processes the hook cannot update; set it to False'
            )
        self._crops = _find_crops(loader.dataset)
        if not self._crops:
            raise ValueError(
                'HardNegativeMiningHook: the training pipeline has no RandomLesionCrop to hand '
                'hard negatives to'
            )

    def before_train_epoch(self, runner) -> None:
        if runner.epoch + 1 not in self.mine_at_epochs:
            return
        start = time.perf_counter()
        negatives = self.mine(runner)
        for crop in self._crops:
            crop.set_hard_negatives(negatives)
        found = sum(len(v) for v in negatives.values())
        print_log(
            f'HardNegativeMiningHook: before epoch {runner.epoch + 1}, {found} hard negatives '
            f'on {sum(1 for v in negatives.values() if len(v))} of {len(negatives)} slices '
            f'({time.perf_counter() - start:.0f} s)',
            logger='current',
        )

    def _mining_dataset(self, runner):
        dataset_cfg = copy.deepcopy(runner.cfg.train_dataloader.dataset)
        while 'dataset' in dataset_cfg and 'pipeline' not in dataset_cfg:
            dataset_cfg = dataset_cfg['dataset']  # through RepeatDataset-style wrappers
        dataset_cfg['pipeline'] = self.pipeline or copy.deepcopy(
            runner.cfg.test_dataloader.dataset.pipeline
        )
        dataset_cfg['test_mode'] = True
        return DATASETS.build(dataset_cfg)

    @torch.no_grad()
    def mine(self, runner) -> dict:
        """``img_id`` -> ``(K, 4)`` hard-negative boxes of every training slice, pixels."""
        model = runner.model
        was_training = model.training
        model.eval()
        loader = DataLoader(
            self._mining_dataset(runner),
            batch_size=self.batch_size,
            shuffle=False,
            num_workers=0,
            collate_fn=pseudo_collate,
        )
        negatives = {}
        try:
            for batch in tqdm(loader, desc='mining hard negatives', unit='batch', disable=None):
                for sample in model.test_step(batch):
                    pred = sample.pred_instances
                    gt_boxes = sample.gt_instances.bboxes
                    gt_boxes = getattr(gt_boxes, 'tensor', gt_boxes)  # mmdet's box type or not
                    negatives[sample.img_id] = select_hard_negatives(
                        pred.bboxes.cpu().numpy(),
                        pred.scores.cpu().numpy(),
                        gt_boxes.cpu().numpy(),
                        self.per_slice,
                        self.max_iou,
                        self.min_score,
                    )
        finally:
            model.train(was_training)
        return negatives
