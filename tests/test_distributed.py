"""The distributed path on the CPU: 2 processes, gloo, through tools/dist_train.sh and
tools/dist_test.sh (torchrun from this Python), and DeepLesionMetric gathered over 2 ranks.

mmengine 0.10.7's own ``init_dist`` cannot start on a machine without CUDA
(:mod:`mmlesion.utils.distributed` works around it): these tests fail without that.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DEMO_CONFIGS, REPO_ROOT, tiny_detector_config
from mmengine.config import Config

WORKERS = Path(__file__).parent / 'dist_workers'
NUM_PROCESSES = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def launch(command: list[str], timeout: float = 180) -> subprocess.CompletedProcess:
    """Run a dist_*.sh script (or torchrun) with this interpreter, on a free port."""
    env = {
        **os.environ,
        'PYTHON': sys.executable,
        'PORT': str(free_port()),
        'PYTHONPATH': os.pathsep.join([str(REPO_ROOT), os.environ.get('PYTHONPATH', '')]),
        'OMP_NUM_THREADS': '1',
    }
    done = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    return done


def tiny_run_fields(cfg: Config, num_samples: int, validate: bool) -> None:
    """``num_samples / 4`` iterations per rank (batch 2), one epoch, validated or not."""
    cfg.train_dataloader.batch_size = 2
    cfg.train_dataloader.sampler = {'type': 'RandomSubsetSampler', 'num_samples': num_samples}
    for split in ('val', 'test'):
        cfg[f'{split}_dataloader'].batch_size = 2
    cfg.train_cfg.max_epochs = 1
    cfg.train_cfg.val_interval = 1 if validate else 2
    cfg.train_cfg.dynamic_intervals = None
    cfg.default_hooks.logger.interval = 1
    cfg.randomness = {'seed': 0}


def test_detector_and_enhancer_train_and_test_on_two_cpu_processes(data_root, tmp_path):
    detector = Config.fromfile(str(DEMO_CONFIGS / 'faster_rcnn_r18-w32_fpn_48e_synth.py'))
    detector.model = tiny_detector_config()
    tiny_run_fields(detector, num_samples=8, validate=True)
    detector.dump(str(tmp_path / 'detector.py'))
    common = ['--data-root', str(data_root)]

    done = launch(
        [
            'bash',
            'tools/dist_train.sh',
            str(tmp_path / 'detector.py'),
            str(NUM_PROCESSES),
            '--work-dir',
            str(tmp_path / 'detector'),
            *common,
        ]
    )
    log = done.stdout + done.stderr
    assert 'Distributed training: True' in log
    assert 'no CUDA device: distributed backend nccl -> gloo' in log
    assert 'deeplesion/mAP' in log  # validated across both ranks
    detector_checkpoint = tmp_path / 'detector' / 'epoch_1.pth'
    assert detector_checkpoint.is_file()

    # The enhancer in front of the frozen detector under DDP: the detector's parameters take
    # no gradient; an unused trainable parameter would fail the second iteration.
    enhancer = Config.fromfile(str(DEMO_CONFIGS / 'enhancer_r18-w16_6e_synth.py'))
    enhancer.model.detector = tiny_detector_config()
    enhancer.model.detector_checkpoint = str(detector_checkpoint)
    enhancer.model.data_preprocessor.regressor.update(input_size=64, base_channels=4)
    enhancer.model.map_delta_interval = 0
    tiny_run_fields(enhancer, num_samples=8, validate=False)
    enhancer.dump(str(tmp_path / 'enhancer.py'))
    done = launch(
        [
            'bash',
            'tools/dist_train.sh',
            str(tmp_path / 'enhancer.py'),
            str(NUM_PROCESSES),
            '--work-dir',
            str(tmp_path / 'enhancer'),
            *common,
        ]
    )
    log = done.stdout + done.stderr
    assert 'Epoch(train) [1][2/2]' in log  # two iterations on each rank
    assert 'loss_enhance' in log
    enhancer_checkpoint = tmp_path / 'enhancer' / 'epoch_1.pth'
    assert enhancer_checkpoint.is_file()

    done = launch(
        [
            'bash',
            'tools/dist_test.sh',
            str(tmp_path / 'enhancer.py'),
            str(enhancer_checkpoint),
            str(NUM_PROCESSES),
            '--work-dir',
            str(tmp_path / 'test'),
            *common,
        ]
    )
    log = done.stdout + done.stderr
    assert 'Distributed training: True' in log
    assert 'deeplesion/mAP' in log


def _worker_module():
    spec = importlib.util.spec_from_file_location('metric_worker', WORKERS / 'metric_worker.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('num_images', [7])
def test_metric_over_two_ranks_equals_one_process(tmp_path, num_images):
    worker = _worker_module()
    out = tmp_path / 'metrics.json'
    launch(
        [
            sys.executable,
            '-m',
            'torch.distributed.run',
            f'--nproc_per_node={NUM_PROCESSES}',
            f'--master_port={free_port()}',
            str(WORKERS / 'metric_worker.py'),
            str(out),
            str(num_images),
        ]
    )
    result = json.loads(out.read_text())
    # The sampler padded rank 1 with a repeat of image 0: 8 items for 7 images.
    processed = [i for indices in result['indices'] for i in indices]
    assert len(processed) == 8 and sorted(set(processed)) == list(range(num_images))

    from mmlesion.evaluation import DeepLesionMetric

    metric = DeepLesionMetric()
    metric.dataset_meta = {'classes': ('lesion',)}
    metric.process({}, worker.metric_samples(num_images))
    single = worker.finite_or_none(metric.evaluate(num_images))
    assert result['metrics'] == pytest.approx(single, nan_ok=True)
    # Every image counts: dropping the last one (or doubling the first) changes the result.
    fewer = DeepLesionMetric()
    fewer.dataset_meta = {'classes': ('lesion',)}
    fewer.process({}, worker.metric_samples(num_images)[:-1])
    assert worker.finite_or_none(fewer.evaluate(num_images - 1)) != single
