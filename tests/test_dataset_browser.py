"""tools/analysis_tools/browse_dataset.py and mmlesion.visualization.dataset_browser."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from tool_configs import load_tool, tiny_real_config

from mmlesion.visualization.box_overlay import GT_COLOR, TILE_GAP, box_pixels
from mmlesion.visualization.dataset_browser import annotations_first


def test_browse_dataset_writes_each_slice_with_its_boxes(data_root, tmp_path, monkeypatch):
    from mmdet.registry import DATASETS
    from mmengine.registry import init_default_scope

    config = tiny_real_config(tmp_path, data_root)
    out = tmp_path / 'browse'
    tool = load_tool('tools/analysis_tools/browse_dataset.py')
    argv = ['browse_dataset.py', str(config), '--output-dir', str(out), '--split', 'test']
    monkeypatch.setattr(sys, 'argv', argv)
    tool.main()
    # The same samples through the same pipeline, annotations first: where the boxes must be.
    cfg = Config.fromfile(str(config))
    init_default_scope('mmdet')
    dataset_cfg = cfg.test_dataloader.dataset
    dataset_cfg.pipeline = annotations_first(dataset_cfg.pipeline)
    dataset = DATASETS.build(dataset_cfg)
    assert len(list(out.glob('*.png'))) == len(dataset)
    for index in range(len(dataset)):
        packed = dataset[index]
        sample = packed['data_samples']
        channels, height, width = packed['inputs'].shape
        picture = cv2.imread(str(out / (Path(sample.img_id).stem + '.png')))
        assert picture.shape == (height, channels * width + (channels - 1) * TILE_GAP, 3)
        boxes = sample.gt_instances.bboxes.tensor.numpy()
        assert len(boxes) > 0
        for c in range(channels):
            tile = picture[:, c * (width + TILE_GAP) : c * (width + TILE_GAP) + width]
            for box in boxes:
                x1, y1, x2, y2 = box_pixels(box, (height, width))
                # The four corners of the outline are ground-truth green.
                for y, x in ((y1, x1), (y1, x2), (y2, x1), (y2, x2)):
                    assert tuple(tile[y, x]) == GT_COLOR, (sample.img_id, c, box)
            # Away from the boxes the slice is gray: the channels are drawn as they are.
            gray = tile[..., 0] == tile[..., 1]
            assert gray.mean() > 0.8


def test_max_images_caps_the_count(data_root, tmp_path, monkeypatch):
    config = tiny_real_config(tmp_path, data_root)
    out = tmp_path / 'browse'
    argv = ['browse_dataset.py', str(config), '--output-dir', str(out), '--max-images', '3']
    monkeypatch.setattr(sys, 'argv', argv)  # the train split, flips and all
    load_tool('tools/analysis_tools/browse_dataset.py').main()
    assert len(list(out.glob('*.png'))) == 3


def test_annotations_move_before_the_resampling() -> None:
    pipeline = [
        {'type': 'LoadDeepLesionSlices'},
        {'type': 'HUWindow'},
        {'type': 'RescaleToSpacing'},
        {'type': 'LoadAnnotations', 'with_bbox': True},
        {'type': 'PackDetInputs'},
    ]
    types = [step['type'] for step in annotations_first(pipeline)]
    assert types == [
        'LoadDeepLesionSlices',
        'LoadAnnotations',
        'HUWindow',
        'RescaleToSpacing',
        'PackDetInputs',
    ]
    assert pipeline[3]['type'] == 'LoadAnnotations'  # the config's own list is left alone
    with pytest.raises(ValueError, match='no LoadAnnotations'):
        annotations_first([{'type': 'LoadDeepLesionSlices'}])


def test_box_outline_pixels_round_and_clip() -> None:
    assert box_pixels((1.4, 2.6, 10.5, 200.0), (64, 32)) == (1, 3, 10, 63)
    assert box_pixels(np.array([-3.0, 0.0, 5.0, 5.0]), (8, 8)) == (0, 0, 5, 5)
