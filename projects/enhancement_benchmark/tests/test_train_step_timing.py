"""time_train_steps: training steps timed on pre-loaded batches, under cProfile."""

import pytest

from mmlesion.utils import load_config
from projects.enhancement_benchmark.benchmark.train_step_timing import time_train_steps

from .conftest import REPO_ROOT, detector_options


def tiny_config(data_root, work_dir):
    cfg = load_config(
        str(REPO_ROOT / 'configs/demo/faster_rcnn_r18-w32_fpn_48e_synth.py'),
        detector_options(data_root),
    )
    cfg.work_dir = str(work_dir)
    return cfg


def test_profiles_whole_training_steps(data_root, tmp_path):
    seconds, stats = time_train_steps(tiny_config(data_root, tmp_path), steps=2, warmup=1)
    assert seconds > 0
    profiled = {name for _, _, name in stats.stats}
    # forward and loss, backward, and the optimizer step were all timed
    assert {'loss', 'backward', 'update_params'} <= profiled
    assert stats.total_calls > 0


def test_times_without_profiling(data_root, tmp_path):
    seconds, stats = time_train_steps(
        tiny_config(data_root, tmp_path), steps=1, warmup=0, cprofile=False
    )
    assert seconds > 0 and stats is None


def test_needs_a_step(data_root, tmp_path):
    with pytest.raises(ValueError, match='steps must be >= 1'):
        time_train_steps(tiny_config(data_root, tmp_path), steps=0)
