"""Re-scoring dumped predictions: mmlesion.evaluation.dumped_predictions and
tools/analysis_tools/eval_metric.py."""

from __future__ import annotations

import json
import math
import pickle
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.fileio import dump
from tool_configs import load_tool, tiny_real_config, untrained_checkpoint

from mmlesion.evaluation import deeplesion_metric_kwargs, rescore_predictions
from mmlesion.utils.safe_pickle import PredictionsError


def dataset_items(config: Path, split: str = 'test') -> list[dict]:
    """The items of the config's test dataset, made of the ``split`` rows."""
    from mmdet.registry import DATASETS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    cfg = Config.fromfile(str(config))
    init_default_scope('mmdet')
    dataset = DATASETS.build({**cfg.test_dataloader.dataset, 'split': split})
    return [dataset.get_data_info(i) for i in range(len(dataset))]


def perfect_dump(items: list[dict]) -> list[dict]:
    """What DumpDetResults writes for a detector that finds every lesion first (score 0.9) and
    then makes one false positive per image (score 0.1, far from any lesion)."""
    samples = []
    for item in items:
        lesions = [inst['bbox'] for inst in item['instances'] if not inst['ignore_flag']]
        boxes = torch.tensor([*lesions, [0.0, 0.0, 1.0, 1.0]], dtype=torch.float32)
        scores = torch.tensor([0.9] * len(lesions) + [0.1])
        samples.append(
            {
                'img_id': item['img_id'],
                'img_path': item['img_path'],
                'ori_shape': (item['height'], item['width']),
                'scale_factor': np.array([1.0, 1.0]),
                'pred_instances': {
                    'bboxes': boxes,
                    'scores': scores,
                    'labels': torch.zeros(len(boxes), dtype=torch.int64),
                },
            }
        )
    return samples


@pytest.fixture
def rescoring(data_root: Path, tmp_path: Path) -> tuple[Path, Path, list[dict]]:
    config = tiny_real_config(tmp_path, data_root)
    items = dataset_items(config)
    predictions = tmp_path / 'preds.pkl'
    dump(perfect_dump(items), str(predictions))  # the writer mmdet's DumpDetResults uses
    return config, predictions, items


def run_eval_metric(monkeypatch, *args: str) -> None:
    tool = load_tool('tools/analysis_tools/eval_metric.py')
    monkeypatch.setattr(sys, 'argv', ['eval_metric.py', *args])
    tool.main()


def test_eval_metric_scores_a_dump_under_each_protocol(rescoring, tmp_path, monkeypatch, capsys):
    config, predictions, items = rescoring
    results = {}
    for protocol in ('mmlesion', '3dce'):
        out = tmp_path / f'{protocol}.json'
        run_eval_metric(
            monkeypatch,
            str(config),
            str(predictions),
            '--protocol',
            protocol,
            '--out-json',
            str(out),
        )
        results[protocol] = json.loads(out.read_text())
    printed = capsys.readouterr().out
    assert f'{len(items)} key slices scored' in printed
    assert 'deeplesion/avg_sens' in printed

    for protocol, record in results.items():
        metrics = record['metrics']
        assert record['protocol'] == protocol and record['num_images'] == len(items)
        # Every lesion is found before any false positive: perfect AP and early sensitivity.
        assert metrics['deeplesion/mAP'] == pytest.approx(1.0)
        assert metrics['deeplesion/sens@0.5'] == pytest.approx(1.0)
        assert metrics['deeplesion/sens@1'] == pytest.approx(1.0)
    # One false positive per image: 'mmlesion' never reaches 2 FP/image (NaN, written as null);
    # 3DCE's interp1d extrapolates the flat last segment.
    assert results['mmlesion']['metrics']['deeplesion/sens@2'] is None
    assert results['3dce']['metrics']['deeplesion/sens@16'] == pytest.approx(1.0)


def test_eval_metric_refuses_a_pickle_that_runs_code(rescoring, tmp_path, monkeypatch):
    config, _, _ = rescoring
    marker = tmp_path / 'ran'

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    hostile = tmp_path / 'hostile.pkl'
    hostile.write_bytes(pickle.dumps([{'img_path': 'x', 'pred_instances': Payload()}]))
    with pytest.raises(PredictionsError, match=r'hostile\.pkl: refused .*could run code'):
        run_eval_metric(monkeypatch, str(config), str(hostile))
    assert not marker.exists()


def test_rescoring_needs_a_prediction_for_every_key_slice(rescoring) -> None:
    _, _, items = rescoring
    predictions = perfect_dump(items)
    with pytest.raises(ValueError, match=r'1 of the \d+ key slices .* no prediction'):
        rescore_predictions(predictions[1:], items)
    extra = {**predictions[0], 'img_path': '/elsewhere/000.png'}
    result = rescore_predictions([*predictions, extra], items)
    assert result.left_out == ('/elsewhere/000.png',)
    assert result.num_images == len(items)
    assert not math.isnan(result.metrics['deeplesion/mAP'])


def test_metric_kwargs_come_from_the_deeplesion_metric_of_the_evaluators() -> None:
    evaluators = [
        {'type': 'DeepLesionMetric', 'iou_thr': 0.4, 'protocol': 'mulan'},
        {'type': 'DumpDetResults', 'out_file_path': 'x.pkl'},
    ]
    assert deeplesion_metric_kwargs(evaluators) == {'iou_thr': 0.4, 'protocol': 'mulan'}
    assert deeplesion_metric_kwargs({'type': 'DeepLesionMetric'}) == {}
    with pytest.raises(ValueError, match='no DeepLesionMetric'):
        deeplesion_metric_kwargs([{'type': 'CocoMetric'}])


def test_eval_metric_reads_what_tools_test_dumps(rescoring, tmp_path, monkeypatch):
    config, _, items = rescoring
    checkpoint = untrained_checkpoint(config, tmp_path / 'tiny.pth')
    dumped = tmp_path / 'dumped.pkl'
    argv = ['test.py', str(config), str(checkpoint), '--work-dir', str(tmp_path / 'work')]
    monkeypatch.setattr(sys, 'argv', [*argv, '--out', str(dumped)])
    load_tool('tools/test.py').main()
    # What tools/test.py logged, to 4 decimals: 'deeplesion/mAP: 0.0012  deeplesion/AP50: ...'.
    (log_file,) = (tmp_path / 'work').glob('*/*.log')
    logged = dict(re.findall(r'(deeplesion/\S+): (\S+)', log_file.read_text()))
    assert logged

    out = tmp_path / 'metrics.json'
    run_eval_metric(monkeypatch, str(config), str(dumped), '--out-json', str(out))
    record = json.loads(out.read_text())
    assert record['protocol'] == 'mmlesion'
    assert record['num_images'] == len(items) and record['num_left_out'] == 0
    assert set(record['metrics']) == set(logged)
    for key, value in record['metrics'].items():
        if value is None:
            assert logged[key] == 'nan', key
        else:
            assert value == pytest.approx(float(logged[key]), abs=1e-4), key


def test_3dce_scores_without_the_noisy_rows(quirky_deeplesion, tmp_path, monkeypatch, capsys):
    # The train split of the quirky set: 000001_01_01_010 holds a liver lesion and a
    # Possibly_noisy one, which the '3dce' protocol refuses to score.
    config = tiny_real_config(tmp_path, quirky_deeplesion)
    split = ['--cfg-options', 'test_dataloader.dataset.split=train']
    predictions = tmp_path / 'preds.pkl'
    dump(perfect_dump(dataset_items(config, split='train')), str(predictions))
    results = {}
    for protocol in ('mmlesion', '3dce'):
        out = tmp_path / f'{protocol}.json'
        args = [str(config), str(predictions), '--protocol', protocol, '--out-json', str(out)]
        run_eval_metric(monkeypatch, *args, *split)
        results[protocol] = json.loads(out.read_text())['metrics']
    assert "protocol '3dce' scores without Possibly_noisy rows" in capsys.readouterr().out
    # Kept, the noisy lesion is found like the others; dropped, its detection (score 0.9) is a
    # false positive ahead of the other lesions.
    assert results['mmlesion']['deeplesion/AP50'] == pytest.approx(1.0)
    assert results['3dce']['deeplesion/AP50'] < 1.0
