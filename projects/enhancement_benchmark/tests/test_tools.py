"""The study's tools: the ones that run models flush subnormals before anything else (as the
toolbox's tools do, tests/test_denormals.py), and each answers --help from a checkout."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[1] / 'tools'
MODEL_TOOLS = [
    'run_demo.py',
    'benchmark_inference.py',
    'benchmark_roi_align.py',
    'benchmark_train_step.py',
    'detector_transfer.py',
    'synthetic_benchmark.py',
    'new_scanner.py',
]


@pytest.mark.parametrize('tool', MODEL_TOOLS)
def test_tools_that_run_models_flush_before_anything_else(tool):
    tree = ast.parse((TOOLS / tool).read_text())
    main = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == 'main')
    first = main.body[0]
    assert isinstance(first, ast.Expr) and isinstance(first.value, ast.Call)
    assert first.value.func.id == 'flush_denormals'


def test_run_demo_answers_help_from_any_working_directory(tmp_path):
    # The tool puts the repository root on sys.path itself: no PYTHONPATH, another cwd.
    result = subprocess.run(
        [sys.executable, str(TOOLS / 'run_demo.py'), '--help'],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert '--preset' in result.stdout


@pytest.mark.parametrize('tool', ['run_demo.py', 'synthetic_benchmark.py'])
def test_the_study_runs_fix_their_thread_count(tmp_path, tool):
    from projects.enhancement_benchmark.benchmark.machine_description import DEMO_THREADS

    assert DEMO_THREADS == 2
    assert 'use_threads(args.threads)' in (TOOLS / tool).read_text()
    result = subprocess.run(
        [sys.executable, str(TOOLS / tool), '--threads', '0', '--work-dir', str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert '--threads must be at least 1, got 0' in result.stderr
    assert not any(tmp_path.iterdir())  # refused before any stage ran
