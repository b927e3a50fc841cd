"""SafeCheckpointHook: a full disk while saving never costs the previous best or last checkpoint."""

from __future__ import annotations

import errno
import uuid
from pathlib import Path

import pytest
import torch
from conftest import REPO_ROOT
from mmengine.config import Config
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

import mmlesion.engine  # noqa: F401  (registers SafeCheckpointHook)


class ToyModel(BaseModel):
    """One linear layer: a checkpoint of a few hundred bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 1)

    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = 'tensor'):
        out = self.linear(inputs)
        if mode == 'loss':
            return {'loss': out.pow(2).mean()}
        return list(out)


class ToyDataset(Dataset):
    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> dict:
        return {'inputs': torch.full((4,), float(index))}


class ScriptedMetric(BaseMetric):
    """Reports the next of ``scores`` at each validation."""

    default_prefix = 'toy'

    def __init__(self, scores: list[float]) -> None:
        super().__init__()
        self.scores = list(scores)

    def process(self, data_batch, data_samples) -> None:
        self.results.append(0)

    def compute_metrics(self, results) -> dict:
        score = self.scores.pop(0)
        return {'score': score, 'other': score}


def make_runner(
    work_dir: Path,
    max_epochs: int,
    scores: list[float],
    resume: bool = False,
    custom_hooks=(),
    **checkpoint_options,
) -> Runner:
    """A Runner on :class:`ToyModel` whose checkpoint hook is the default runtime's, saving the
    best ``toy/score`` unless ``checkpoint_options`` say otherwise."""
    loader = {
        'dataset': ToyDataset(),
        'sampler': {'type': 'DefaultSampler', 'shuffle': False},
        'batch_size': 2,
        'collate_fn': {'type': 'default_collate'},
    }
    checkpoint = Config.fromfile(str(REPO_ROOT / 'configs/_base_/default_runtime.py'))
    checkpoint = checkpoint.default_hooks.checkpoint.to_dict()
    checkpoint['save_best'] = 'toy/score'
    checkpoint.update(checkpoint_options)
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        train_dataloader=loader,
        val_dataloader=loader,
        val_evaluator=[ScriptedMetric(scores)],
        train_cfg={'by_epoch': True, 'max_epochs': max_epochs, 'val_interval': 1},
        val_cfg={},
        optim_wrapper={'optimizer': {'type': 'SGD', 'lr': 0.1}},
        default_hooks={'checkpoint': checkpoint},
        default_scope='mmdet',
        resume=resume,
        custom_hooks=list(custom_hooks),
        experiment_name=f'safe_checkpoint_{uuid.uuid4().hex}',
    )


def checkpoint_hook(runner):
    (hook,) = (h for h in runner.hooks if type(h).__name__ == 'SafeCheckpointHook')
    return hook


def loads(path: Path) -> dict:
    return torch.load(path, map_location='cpu', weights_only=False)


def files(work_dir: Path) -> list[str]:
    """The checkpoints, ``last_checkpoint`` and any (hidden) temporary left in ``work_dir``."""
    return sorted(
        p.name
        for p in work_dir.iterdir()
        if p.suffix in ('.pth', '.tmp') or p.name in ('last_checkpoint',) or p.name[0] == '.'
    )


def test_default_runtime_uses_the_safe_hook_with_the_same_arguments():
    cfg = Config.fromfile(str(REPO_ROOT / 'configs/_base_/default_runtime.py'))
    checkpoint = cfg.default_hooks.checkpoint
    assert checkpoint.type == 'SafeCheckpointHook'
    assert checkpoint.save_best == 'deeplesion/mAP' and checkpoint.max_keep_ckpts == 2


def test_full_disk_while_saving_a_new_best_keeps_the_previous_best(tmp_path, full_disk):
    runner = make_runner(tmp_path, max_epochs=2, scores=[0.1, 0.2])
    full_disk('best_toy_score_epoch_2')
    with pytest.raises(OSError) as error:
        runner.train()
    assert error.value.errno == errno.ENOSPC
    assert files(tmp_path) == ['best_toy_score_epoch_1.pth', 'epoch_1.pth', 'epoch_2.pth',
                               'last_checkpoint']  # fmt: skip
    assert loads(tmp_path / 'best_toy_score_epoch_1.pth')['meta']['epoch'] == 1
    last = Path((tmp_path / 'last_checkpoint').read_text())
    assert last == tmp_path / 'epoch_2.pth' and loads(last)['meta']['epoch'] == 2
    # The run still knows the previous best as its best.
    assert checkpoint_hook(runner).best_ckpt_path == str(tmp_path / 'best_toy_score_epoch_1.pth')
    assert runner.message_hub.get_info('best_score') == 0.1


def test_full_disk_while_saving_an_epoch_keeps_last_checkpoint_pointing_to_a_whole_file(
    tmp_path, full_disk
):
    runner = make_runner(tmp_path, max_epochs=2, scores=[0.1, 0.2])
    full_disk('epoch_2.pth')
    with pytest.raises(OSError):
        runner.train()
    assert files(tmp_path) == ['best_toy_score_epoch_1.pth', 'epoch_1.pth', 'last_checkpoint']
    last = Path((tmp_path / 'last_checkpoint').read_text())
    assert last == tmp_path / 'epoch_1.pth' and loads(last)['meta']['epoch'] == 1


class FillDiskAtEpoch(Hook):
    """Arms ``full_disk(name)`` when training epoch ``epoch`` (0-based) starts."""

    def __init__(self, full_disk, name: str, epoch: int) -> None:
        self.full_disk, self.name, self.epoch = full_disk, name, epoch

    def before_train_epoch(self, runner) -> None:
        if runner.epoch == self.epoch:
            self.full_disk(self.name)


def test_full_disk_while_writing_last_checkpoint_keeps_the_previous_pointer(tmp_path, full_disk):
    fill = FillDiskAtEpoch(full_disk, 'last_checkpoint', epoch=1)
    runner = make_runner(tmp_path, max_epochs=2, scores=[0.1, 0.05], custom_hooks=[fill])
    with pytest.raises(OSError):
        runner.train()
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'epoch_1.pth')
    assert loads(tmp_path / 'epoch_2.pth')['meta']['epoch'] == 2


def test_rotation_best_and_resume_behave_as_mmengine(tmp_path):
    make_runner(tmp_path, max_epochs=2, scores=[0.1, 0.3]).train()
    assert files(tmp_path) == ['best_toy_score_epoch_2.pth', 'epoch_1.pth', 'epoch_2.pth',
                               'last_checkpoint']  # fmt: skip
    runner = make_runner(tmp_path, max_epochs=4, scores=[0.2, 0.4], resume=True)
    runner.train()
    # Epoch 3 (0.2) is no better than epoch 2 (0.3); epoch 4 is.
    assert files(tmp_path) == ['best_toy_score_epoch_4.pth', 'epoch_3.pth', 'epoch_4.pth',
                               'last_checkpoint']  # fmt: skip
    saved = loads(tmp_path / 'epoch_4.pth')['message_hub']['runtime_info']
    assert saved['best_score'] == 0.4 and saved['keep_ckpt_ids'] == [3, 4]
    assert saved['best_ckpt'] == str(tmp_path / 'best_toy_score_epoch_4.pth')


def test_without_rotation_every_epoch_stays(tmp_path):
    make_runner(tmp_path, max_epochs=3, scores=[0.1, 0.3, 0.2], max_keep_ckpts=-1).train()
    assert files(tmp_path) == ['best_toy_score_epoch_2.pth', 'epoch_1.pth', 'epoch_2.pth',
                               'epoch_3.pth', 'last_checkpoint']  # fmt: skip


def test_several_best_keys_each_keep_their_previous_best(tmp_path, full_disk):
    runner = make_runner(
        tmp_path, max_epochs=2, scores=[0.1, 0.2], save_best=['toy/score', 'toy/other']
    )
    full_disk('best_toy_other_epoch_2')
    with pytest.raises(OSError):
        runner.train()
    best = [name for name in files(tmp_path) if name.startswith('best_')]
    assert best == ['best_toy_other_epoch_1.pth', 'best_toy_score_epoch_2.pth']
    assert checkpoint_hook(runner).best_ckpt_path_dict == {
        'toy/score': str(tmp_path / 'best_toy_score_epoch_2.pth'),
        'toy/other': str(tmp_path / 'best_toy_other_epoch_1.pth'),
    }
    assert runner.message_hub.get_info('best_score_toy/other') == 0.1
    assert runner.message_hub.get_info('best_score_toy/score') == 0.2
