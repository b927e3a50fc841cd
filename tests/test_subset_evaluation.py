"""Scoring dumped predictions on subsets of key slices (e.g. one acquisition profile)."""

import numpy as np
import pytest
import torch

from mmlesion.evaluation import evaluate_subsets


def info(img_id, boxes, ignore=()):
    instances = [
        {'bbox': list(b), 'bbox_label': 0, 'ignore_flag': int(i in ignore)}
        for i, b in enumerate(boxes)
    ]
    kept = [inst for inst in instances if not inst['ignore_flag']]
    return {
        'img_id': img_id,
        'img_path': f'Images_png/{img_id}',
        'instances': instances,
        'lesion_types': [4] * len(kept),
        'lesion_diameters_mm': [20.0] * len(kept),
        'spacing_mm': (0.8, 0.8, 2.0),
    }


def prediction(img_id, boxes):
    return {
        'img_path': f'Images_png/{img_id}',
        'pred_instances': {
            'bboxes': torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
            'scores': torch.full((len(boxes),), 0.9),
            'labels': torch.zeros(len(boxes), dtype=torch.int64),
        },
    }


def test_each_subset_is_scored_on_its_own_slices():
    box_a, box_b = [10.0, 10.0, 40.0, 30.0], [50.0, 60.0, 70.0, 90.0]
    infos = [info('a.png', [box_a]), info('b.png', [box_b]), info('c.png', [box_b])]
    predictions = [
        prediction('a.png', [box_a]),  # exact
        prediction('b.png', [[200.0, 200.0, 220.0, 220.0]]),  # a miss
        prediction('c.png', [box_b]),
    ]
    results = evaluate_subsets(
        predictions, infos, {'good': ['a.png', 'c.png'], 'bad': ['b.png'], 'none': ['x.png']}
    )
    assert set(results) == {'good', 'bad'}
    assert results['good']['deeplesion/mAP'] == pytest.approx(1.0)
    assert results['good']['num_images'] == 2
    assert results['bad']['deeplesion/mAP'] == pytest.approx(0.0)
    assert results['good']['deeplesion/liver_mAP'] == pytest.approx(1.0)


def test_ignored_lesions_neither_count_nor_count_against():
    box, ignored = [10.0, 10.0, 40.0, 30.0], [100.0, 100.0, 140.0, 130.0]
    infos = [info('a.png', [box, ignored], ignore=(1,))]
    results = evaluate_subsets([prediction('a.png', [box, ignored])], infos, {'all': ['a.png']})
    assert results['all']['deeplesion/mAP'] == pytest.approx(1.0)
    assert np.isnan(results['all']['deeplesion/sens@0.5'])  # no false positive at all
