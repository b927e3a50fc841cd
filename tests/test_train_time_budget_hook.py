"""TrainTimeBudgetHook: training stops at the epoch boundary where the next epoch would not fit."""

from types import SimpleNamespace

import pytest

from mmlesion.engine import TrainTimeBudgetHook
from mmlesion.engine.hooks import train_time_budget_hook


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def fake_runner() -> SimpleNamespace:
    return SimpleNamespace(epoch=0, train_loop=SimpleNamespace(stop_training=False))


def run_epoch(hook, runner, clock, train_s, val_s=None):
    hook.before_train_epoch(runner)
    clock.now += train_s
    hook.after_train_epoch(runner)
    if val_s is not None:
        clock.now += val_s
        hook.after_val_epoch(runner, {})
    runner.epoch += 1


def test_stops_when_the_next_epoch_would_overrun(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(train_time_budget_hook.time, 'perf_counter', clock)
    hook, runner = TrainTimeBudgetHook(max_seconds=100), fake_runner()
    hook.before_train(runner)
    run_epoch(hook, runner, clock, 30, val_s=5)  # 35 s spent, an epoch 35 s: 70 fits
    assert not runner.train_loop.stop_training
    run_epoch(hook, runner, clock, 30, val_s=5)  # 70 s spent: 105 would not
    assert runner.train_loop.stop_training


def test_the_slowest_epoch_sets_the_estimate(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(train_time_budget_hook.time, 'perf_counter', clock)
    hook, runner = TrainTimeBudgetHook(max_seconds=100), fake_runner()
    hook.before_train(runner)
    run_epoch(hook, runner, clock, 45)  # no validation pass this epoch
    run_epoch(hook, runner, clock, 10)  # 55 s spent; the 45 s epoch says 100 is too close
    assert not runner.train_loop.stop_training  # 55 + 45 = 100 is not over the budget
    run_epoch(hook, runner, clock, 1)
    assert runner.train_loop.stop_training


def test_validation_outside_training_is_left_alone():
    hook, runner = TrainTimeBudgetHook(max_seconds=1e-9), fake_runner()
    hook.after_val_epoch(runner, {})
    assert not runner.train_loop.stop_training


@pytest.mark.parametrize('budget', [0, -5, float('nan')])
def test_budget_must_be_positive(budget):
    with pytest.raises(ValueError, match='max_seconds'):
        TrainTimeBudgetHook(max_seconds=budget)
