"""Operating points by false positives per image: the FROC reading, the validation tool, and
tools/infer.py --fp-per-image reading its sidecar."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import DEMO_CONFIGS, DEMO_DETECTOR, REPO_ROOT, detector_options
from mmengine.config import Config
from tool_configs import load_tool

from mmlesion.evaluation import deeplesion_froc_curve, froc_operating_points

LESION = [[10.0, 10.0, 20.0, 20.0]]
MISS = [50.0, 50.0, 60.0, 60.0]


def test_each_target_gets_the_lowest_threshold_within_it():
    # Image 0: a hit at 0.9, false positives at 0.8 and 0.3. Image 1: false positives at 0.7 and
    # 0.6, no lesion. Rates after each detection (2 images): 0, .5, 1, 1.5, 2.
    boxes = [np.array([LESION[0], MISS, MISS]), np.array([MISS, MISS])]
    scores = [np.array([0.9, 0.8, 0.3]), np.array([0.7, 0.6])]
    gts = [np.array(LESION), np.zeros((0, 4))]
    points = froc_operating_points(boxes, scores, gts, [0, 0.5, 1, 1.2, 10])
    assert [p.score_thr for p in points] == [0.9, 0.8, 0.7, 0.7, 0.3]
    assert [p.measured_fp_per_image for p in points] == [0.0, 0.5, 1.0, 1.0, 2.0]
    assert [p.sensitivity for p in points] == [1.0] * 5


def test_equal_scores_are_kept_or_dropped_together():
    # Two false positives tied at 0.8: 1 FP/image alone cannot be had (one image), so the cut
    # stays above them.
    boxes = [np.array([LESION[0], MISS, MISS])]
    scores = [np.array([0.9, 0.8, 0.8])]
    (point,) = froc_operating_points(boxes, scores, [np.array(LESION)], [1])
    assert point.score_thr == 0.9 and point.measured_fp_per_image == 0.0


def test_a_target_below_the_first_false_positive_keeps_nothing():
    boxes = [np.array([MISS, LESION[0]])]
    scores = [np.array([0.9, 0.5])]
    (point,) = froc_operating_points(boxes, scores, [np.array(LESION)], [0.5])
    assert point.score_thr > 0.9 and point.measured_fp_per_image == 0.0
    assert point.sensitivity == 0.0


def test_bad_targets_and_no_detection_are_refused():
    gts = [np.array(LESION)]
    with pytest.raises(ValueError, match='finite and >= 0'):
        froc_operating_points([np.array([MISS])], [np.array([0.5])], gts, [-1])
    with pytest.raises(ValueError, match='no detection'):
        froc_operating_points([np.zeros((0, 4))], [np.zeros(0)], gts, [1])


def fp_per_image_at(records: list[dict], threshold: float) -> float:
    """False positives per image of the detections with ``score >= threshold``."""
    keep = [r['pred_scores'] >= threshold for r in records]
    rates, _, _ = deeplesion_froc_curve(
        [r['pred_bboxes'][k] for r, k in zip(records, keep, strict=True)],
        [r['pred_scores'][k] for r, k in zip(records, keep, strict=True)],
        [r['gt_bboxes'] for r in records],
        gt_ignore=[r['gt_ignore'] for r in records],
    )
    return float(rates[-1]) if len(rates) else 0.0


@pytest.fixture(scope='module')
def detector_config(data_root, tmp_path_factory) -> str:
    """The config the ``trained_detector`` fixture trained with, as a file."""
    cfg = Config.fromfile(str(DEMO_CONFIGS / DEMO_DETECTOR))
    cfg.merge_from_dict(detector_options(data_root))
    path = tmp_path_factory.mktemp('operating_point') / 'detector.py'
    cfg.dump(str(path))
    return str(path)


def test_thresholds_measured_on_validation_hold_their_rate(
    detector_config, trained_detector, data_root, tmp_path, monkeypatch
):
    from mmdet.registry import DATASETS

    from mmlesion.apis import LesionInferencer
    from mmlesion.evaluation import slice_records

    # A copy: the sidecar goes beside the checkpoint, and the fixture's is shared.
    checkpoint = str(shutil.copy(trained_detector, tmp_path / 'detector.pth'))
    tool = load_tool('tools/analysis_tools/operating_point.py')
    argv = ['operating_point.py', detector_config, checkpoint, '--device', 'cpu']
    monkeypatch.setattr(sys, 'argv', [*argv, '--fp-per-image', '0.25', '1', '4'])
    tool.main()
    sidecar = json.loads(Path(f'{checkpoint}.operating_points.json').read_text())
    assert sidecar['split'] == 'val' and sidecar['protocol'] == 'mmlesion'
    points = sidecar['operating_points']
    assert [p['fp_per_image'] for p in points] == [0.25, 1.0, 4.0]
    thresholds = [p['score_thr'] for p in points]
    assert thresholds == sorted(thresholds, reverse=True), 'more FPs allowed, lower threshold'

    # Recount the false positives on the validation split at each threshold.
    inferencer = LesionInferencer(detector_config, checkpoint, device='cpu')
    dataset = DATASETS.build(inferencer.cfg.val_dataloader.dataset)
    assert sidecar['num_images'] == len(dataset)
    predictions = []
    for sample in inferencer.predict_packed([dataset[i] for i in range(len(dataset))]):
        pred = {k: sample.pred_instances[k].numpy() for k in ('bboxes', 'scores', 'labels')}
        predictions.append({'img_path': sample.img_path, 'pred_instances': pred})
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    records = slice_records(predictions, infos)
    for point in points:
        measured = fp_per_image_at(records, point['score_thr'])
        assert measured <= point['fp_per_image']
        assert measured == pytest.approx(point['measured_fp_per_image'])

    # infer.py --fp-per-image reads the threshold back and records it.
    val_slice = infos[0]['img_path']
    out = tmp_path / 'out'
    command = [sys.executable, str(REPO_ROOT / 'tools' / 'infer.py'), val_slice]
    command += ['--config', detector_config, '--checkpoint', checkpoint]
    command += ['--device', 'cpu', '--out', str(out), '--fp-per-image', '1']
    command += ['--dl-info', str(data_root / 'DL_info.csv')]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
    document = json.loads((out / 'predictions.json').read_text())
    chosen = document['operating_point']
    assert chosen['chosen_by'] == 'fp_per_image' and chosen['fp_per_image'] == 1.0
    assert chosen['score_thr'] == points[1]['score_thr']
    assert chosen['num_images'] == len(dataset)
    scores = [d['score'] for s in document['slices'] for d in s['detections']]
    assert all(score >= chosen['score_thr'] for score in scores)
    # The demo weights learned from synthetic data: the output says so.
    assert any('SYNTHETIC' in warning for warning in document['warnings'])
    assert 'SYNTHETIC' in done.stdout

    # A target the sidecar lacks: the error names the file and the command that adds it.
    command[command.index('--fp-per-image') + 1] = '2'
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO_ROOT)
    assert done.returncode != 0
    assert 'operating_points.json holds no operating point at 2 false positives' in done.stderr
    assert 'tools/analysis_tools/operating_point.py' in done.stderr
