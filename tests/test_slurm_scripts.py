"""tools/slurm_train.sh and tools/slurm_test.sh: the srun command line they build (mmdet's
interface), checked with a stand-in ``srun`` on PATH that records its arguments."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import REPO_ROOT

FAKE_SRUN = """#!/usr/bin/env bash
# Records one argument a line, and the PYTHONPATH it was given.
printf '%s\\n' "$@" > "$SRUN_RECORD"
printf '%s\\n' "$PYTHONPATH" > "$SRUN_RECORD.pythonpath"
"""


def run_script(tmp_path: Path, script: str, args: list[str], **env: str) -> list[str]:
    """Run ``tools/<script>`` with a fake srun; the argv srun got, one entry an argument."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir(exist_ok=True)
    srun = bin_dir / 'srun'
    srun.write_text(FAKE_SRUN)
    srun.chmod(0o755)
    record = tmp_path / 'srun_argv.txt'
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in ('GPUS', 'GPUS_PER_NODE', 'CPUS_PER_TASK', 'SRUN_ARGS')
    }
    environ.update(
        PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}',
        SRUN_RECORD=str(record),
        PYTHON='/opt/py/bin/python',
        **env,
    )
    done = subprocess.run(
        ['bash', str(REPO_ROOT / 'tools' / script), *args],
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return record.read_text().splitlines()


def test_slurm_train_passes_mmdet_arguments_to_srun(tmp_path: Path) -> None:
    argv = run_script(
        tmp_path,
        'slurm_train.sh',
        [
            'gpu-part',
            'lesions',
            'configs/faster_rcnn_r50_fpn_deeplesion.py',
            'work_dirs/x',
            '--amp',
        ],
    )
    assert argv == [
        '-p',
        'gpu-part',
        '--job-name=lesions',
        '--gres=gpu:8',
        '--ntasks=8',
        '--ntasks-per-node=8',
        '--cpus-per-task=5',
        '--kill-on-bad-exit=1',
        '/opt/py/bin/python',
        '-u',
        str(REPO_ROOT / 'tools' / 'train.py'),
        'configs/faster_rcnn_r50_fpn_deeplesion.py',
        '--work-dir=work_dirs/x',
        '--launcher=slurm',
        '--amp',
    ]
    pythonpath = (tmp_path / 'srun_argv.txt.pythonpath').read_text().strip()
    assert pythonpath.split(os.pathsep)[0] == str(REPO_ROOT)


def test_slurm_test_takes_gpus_and_srun_args_from_the_environment(tmp_path: Path) -> None:
    argv = run_script(
        tmp_path,
        'slurm_test.sh',
        ['p', 'eval', 'configs/enhancer_r18.py', 'ckpt.pth', '--out', 'preds.pkl'],
        GPUS='16',
        GPUS_PER_NODE='4',
        CPUS_PER_TASK='2',
        SRUN_ARGS='--quotatype=auto --time=60',
    )
    assert argv == [
        '-p',
        'p',
        '--job-name=eval',
        '--gres=gpu:4',
        '--ntasks=16',
        '--ntasks-per-node=4',
        '--cpus-per-task=2',
        '--kill-on-bad-exit=1',
        '--quotatype=auto',
        '--time=60',
        '/opt/py/bin/python',
        '-u',
        str(REPO_ROOT / 'tools' / 'test.py'),
        'configs/enhancer_r18.py',
        'ckpt.pth',
        '--launcher=slurm',
        '--out',
        'preds.pkl',
    ]


@pytest.mark.parametrize('script', ['slurm_train.sh', 'slurm_test.sh'])
def test_slurm_scripts_refuse_missing_arguments(tmp_path: Path, script: str) -> None:
    done = subprocess.run(
        ['bash', str(REPO_ROOT / 'tools' / script), 'partition', 'job'],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert 'usage:' in done.stderr
