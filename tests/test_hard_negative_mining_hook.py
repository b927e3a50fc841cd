"""Hard-negative mining: which detections count, and the hook's hand-over to the crop."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DEMO_CONFIGS, detector_options

from mmlesion.engine.hooks.hard_negative_mining_hook import (
    HardNegativeMiningHook,
    select_hard_negatives,
)
from mmlesion.evaluation.functional import box_overlaps


def test_select_keeps_the_best_scored_detections_away_from_lesions():
    boxes = np.array(
        [
            [10, 10, 20, 20],  # on the lesion (IoU 1)
            [12, 10, 22, 20],  # IoU 0.67 with the lesion
            [50, 50, 60, 60],  # background, score 0.3
            [70, 70, 80, 80],  # background, score 0.9
            [90, 10, 99, 19],  # background, score below min_score
            [19, 10, 29, 20],  # IoU 1/19 with the lesion: background at max_iou 0.1
        ],
        dtype=np.float32,
    )
    scores = np.array([0.95, 0.8, 0.3, 0.9, 0.01, 0.5])
    lesions = np.array([[10, 10, 20, 20]], dtype=np.float32)
    kept = select_hard_negatives(boxes, scores, lesions, per_slice=2, max_iou=0.1, min_score=0.05)
    np.testing.assert_array_equal(kept, boxes[[3, 5]])
    all_kept = select_hard_negatives(boxes, scores, lesions, 10, 0.1, 0.05)
    np.testing.assert_array_equal(all_kept, boxes[[3, 5, 2]])
    # A slice without lesions: every confident detection is a negative.
    none = np.zeros((0, 4), np.float32)
    assert len(select_hard_negatives(boxes, scores, none, 10, 0.1, 0.05)) == 5
    assert select_hard_negatives(np.zeros((0, 4)), np.zeros(0), lesions, 4, 0.1, 0.05).shape == (
        0,
        4,
    )


def test_mining_hands_negatives_of_the_training_slices_to_the_crop(data_root, tmp_path):
    from mmengine.config import Config
    from mmengine.runner import Runner

    from mmlesion.datasets.transforms.random_lesion_crop import RandomLesionCrop

    cfg = Config.fromfile(str(DEMO_CONFIGS / 'faster_rcnn_r18-w32_fpn_48e_synth.py'))
    options = detector_options(data_root)
    options.update(
        {
            'train_cfg.max_epochs': 2,
            'train_cfg.val_interval': 2,
            'train_cfg.dynamic_intervals': None,
            # The one-epoch tiny detector scores low: keep every detection.
            'model.test_cfg.rcnn.score_thr': 0.0,
            'custom_hooks': [],
            # where configs/demo/faster_rcnn_r18_synth_hnm.py puts it
            'default_hooks.hard_negative_mining': {
                'type': 'HardNegativeMiningHook',
                'mine_at_epochs': [2],
                'per_slice': 3,
                'min_score': 0.0,
            },
        }
    )
    cfg.merge_from_dict(options)
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg)
    runner.train()

    (crop,) = [
        t
        for t in runner.train_dataloader.dataset.pipeline.transforms
        if isinstance(t, RandomLesionCrop)
    ]
    train_set = runner.train_dataloader.dataset
    lesions = {}
    for i in range(len(train_set)):
        info = train_set.get_data_info(i)
        lesions[info['img_id']] = np.array([inst['bbox'] for inst in info['instances']])
    assert crop.hard_negatives, 'no hard negative was handed to the crop'
    assert set(crop.hard_negatives) <= set(lesions)
    for img_id, negatives in crop.hard_negatives.items():
        assert negatives.shape[1] == 4 and 1 <= len(negatives) <= 3
        if len(lesions[img_id]):
            assert box_overlaps(negatives, lesions[img_id]).max() <= 0.1


def test_mining_refuses_persistent_workers_and_a_pipeline_without_crop():
    class Loader:
        persistent_workers = True
        dataset = None

    class FakeRunner:
        train_dataloader = Loader()

    hook = HardNegativeMiningHook()
    with pytest.raises(ValueError, match='persistent_workers'):
        hook.before_train(FakeRunner())
    Loader.persistent_workers = False
    with pytest.raises(ValueError, match='no RandomLesionCrop'):
        hook.before_train(FakeRunner())
    with pytest.raises(ValueError, match='mine_at_epochs'):
        HardNegativeMiningHook(mine_at_epochs=[0])
