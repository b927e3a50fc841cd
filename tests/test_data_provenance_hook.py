"""DataProvenanceHook: every checkpoint says which data its weights learned from."""

from __future__ import annotations

from types import SimpleNamespace

import torch
from mmengine.config import Config

from mmlesion.datasets.provenance import training_data_of
from mmlesion.engine.hooks import DataProvenanceHook


def test_a_runner_checkpoint_on_synthetic_data_says_so(trained_detector, data_root):
    record = training_data_of(torch.load(trained_detector, map_location='cpu', weights_only=False))
    assert record == {
        'dataset': 'DeepLesionDataset',
        'data_root': str(data_root.resolve()),
        'ann_file': 'DL_info.csv',
        'synthetic': True,
    }


def test_real_data_and_wrapped_datasets(quirky_deeplesion):
    root = str(quirky_deeplesion)  # the release's layout, no synthetic sidecar
    real = {'type': 'DeepLesionDataset', 'data_root': root, 'ann_file': 'DL_info.csv'}
    wrapped = {'type': 'RepeatDataset', 'times': 2, 'dataset': real}
    runner = SimpleNamespace(cfg=Config({'train_dataloader': {'dataset': wrapped}}))
    checkpoint = {'meta': {'cfg': '...'}}
    DataProvenanceHook().before_save_checkpoint(runner, checkpoint)
    assert checkpoint['meta']['cfg'] == '...'
    record = training_data_of(checkpoint)
    assert record['dataset'] == 'RepeatDataset' and record['synthetic'] is False
    assert record['parts'] == [
        {'dataset': 'DeepLesionDataset', 'data_root': root, 'ann_file': 'DL_info.csv',
         'synthetic': False}
    ]  # fmt: skip


def test_a_checkpoint_without_provenance_reads_as_unknown():
    assert training_data_of({'state_dict': {}}) is None
    assert training_data_of({'meta': {'cfg': '...'}}) is None
