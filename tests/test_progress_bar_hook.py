"""ProgressBarHook: bars over training and evaluation, the latest loss and the best metric."""

import warnings
from types import SimpleNamespace

import torch

from mmlesion.engine import ProgressBarHook


def test_training_bar_follows_iterations_loss_and_best_metric():
    hook = ProgressBarHook(desc='detector', disable=False)
    runner = SimpleNamespace(max_iters=4, iter=1, epoch=0, val_dataloader=[0, 1])
    hook.before_train(runner)
    bar = hook._train_bar
    assert bar.total == 4 and bar.n == 1  # resumed at iteration 1
    loss = torch.tensor(0.25, requires_grad=True) * 2  # a loss still in its graph
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # no "converting a tensor with requires_grad" warning
        hook.after_train_iter(runner, 0, outputs={'loss': loss})
        hook.after_train_iter(runner, 1, outputs={'loss': 0.125})
    assert bar.n == 3 and bar.postfix.endswith('loss=0.1250')
    hook.before_val_epoch(runner)
    hook.after_val_iter(runner, 0)
    assert hook._eval_bar.n == 1
    hook.after_val_epoch(runner, {'deeplesion/mAP': 0.3})
    hook.after_val_epoch(runner, {'deeplesion/mAP': 0.2})
    assert hook._eval_bar is None and hook._best == 0.3
    hook.after_train(runner)
    assert hook._train_bar is None


def test_bars_stay_off_where_stderr_is_not_a_terminal():
    hook = ProgressBarHook()  # pytest captures stderr: not a terminal
    runner = SimpleNamespace(max_iters=2, iter=0, epoch=0)
    hook.before_train(runner)
    assert hook._train_bar.disable
    hook.after_train_iter(runner, 0, outputs={'loss': 1.0})
    hook.after_train(runner)
