"""tools/analysis_tools/analyze_logs.py and mmlesion.visualization.json_logs, on a hand-written
mmengine log (the lines LoggerHook writes to vis_data/scalars.json)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from tool_configs import load_tool

from mmlesion.visualization.json_logs import load_json_log, log_curve, train_time

# Two epochs of 4 iterations logged every 2, validated after each epoch.
LINES = [
    {'lr': 1e-4, 'data_time': 0.1, 'loss': 2.0, 'time': 3.0, 'epoch': 1, 'iter': 2, 'step': 2},
    {'lr': 1e-4, 'data_time': 0.1, 'loss': 1.5, 'time': 1.0, 'epoch': 1, 'iter': 4, 'step': 4},
    {'deeplesion/mAP': 0.2, 'deeplesion/avg_sens': 0.4, 'data_time': 0.05, 'time': 0.2, 'step': 1},
    {'lr': 1e-4, 'data_time': 0.1, 'loss': 1.2, 'time': 5.0, 'epoch': 2, 'iter': 6, 'step': 6},
    {'lr': 1e-4, 'data_time': 0.1, 'loss': 1.0, 'time': 2.0, 'epoch': 2, 'iter': 8, 'step': 8},
    {'deeplesion/mAP': 0.3, 'deeplesion/avg_sens': 0.5, 'data_time': 0.05, 'time': 0.2, 'step': 2},
]


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A run's timestamp folder holding vis_data/scalars.json."""
    log = tmp_path / '20240101_000000' / 'vis_data' / 'scalars.json'
    log.parent.mkdir(parents=True)
    log.write_text(''.join(json.dumps(line) + '\n' for line in LINES))
    return log.parent.parent


def run_tool(monkeypatch, *args: str) -> None:
    tool = load_tool('tools/analysis_tools/analyze_logs.py')
    monkeypatch.setattr(sys, 'argv', ['analyze_logs.py', *args])
    tool.main()


def test_curves_put_training_keys_on_iterations_and_metrics_on_epochs(run_dir: Path) -> None:
    log = load_json_log(run_dir)
    x, y, label = log_curve(log, 'loss')
    assert label == 'iter' and x.tolist() == [2, 4, 6, 8] and y.tolist() == [2.0, 1.5, 1.2, 1.0]
    x, y, label = log_curve(log, 'deeplesion/mAP')
    assert label == 'epoch' and x.tolist() == [1, 2] and y.tolist() == [0.2, 0.3]
    with pytest.raises(KeyError, match=r"no 'mAP'.*deeplesion/mAP"):
        log_curve(log, 'mAP')


def test_plot_curve_draws_each_key(run_dir: Path, tmp_path: Path, monkeypatch) -> None:
    import matplotlib.pyplot as plt

    out = tmp_path / 'figs' / 'curves.png'
    log = str(run_dir / 'vis_data' / 'scalars.json')
    run_tool(monkeypatch, 'plot_curve', log, '--keys', 'loss', 'deeplesion/mAP', '--out', str(out))
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'

    # What the figure holds: the same tool function, the figure kept open to read it back.
    from mmlesion.visualization.json_logs import plot_log_curves

    fig = plot_log_curves([load_json_log(log)], ['loss', 'deeplesion/mAP'], tmp_path / 'f.png')
    loss_axes, map_axes = fig.axes
    assert loss_axes.get_xlabel() == 'iter' and map_axes.get_xlabel() == 'epoch'
    assert np.allclose(loss_axes.lines[0].get_ydata(), [2.0, 1.5, 1.2, 1.0])
    assert np.allclose(map_axes.lines[0].get_xdata(), [1, 2])
    plt.close(fig)


def test_cal_train_time_leaves_out_each_epochs_first_line(run_dir, monkeypatch, capsys) -> None:
    timing = train_time(load_json_log(run_dir))
    assert timing.epochs == [1, 2] and timing.epoch_means.tolist() == [1.0, 2.0]
    assert timing.slowest_epoch == 2 and timing.fastest_epoch == 1
    assert timing.average == pytest.approx(1.5)
    assert train_time(load_json_log(run_dir), include_outliers=True).average == pytest.approx(2.75)

    run_tool(monkeypatch, 'cal_train_time', str(run_dir))
    printed = capsys.readouterr().out
    assert 'slowest epoch 2, average time is 2.0000 s/iter' in printed
    assert 'fastest epoch 1, average time is 1.0000 s/iter' in printed
    assert 'average iter time: 1.5000 s/iter' in printed


def test_a_broken_line_is_named(tmp_path: Path) -> None:
    log = tmp_path / 'scalars.json'
    log.write_text(json.dumps(LINES[0]) + '\n{"loss": \n')
    with pytest.raises(ValueError, match='line 2: not JSON'):
        load_json_log(log)
    with pytest.raises(FileNotFoundError, match=r'vis_data/scalars\.json'):
        load_json_log(tmp_path / 'nowhere')
