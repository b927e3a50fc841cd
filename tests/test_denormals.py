"""Subnormal floats flushed to zero: the mode reaches every thread only when set first.

The flush-to-zero mode is per thread and process-wide, so each case runs in a fresh Python
process with two intra-op threads (the pytest process's threads exist already)."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import json, sys
import torch
torch.set_num_threads(2)
from mmlesion.engine.hooks import flush_denormals_hook as hook_module
from mmlesion.utils import denormals_flushed, flush_denormals

supported = flush_denormals() if sys.argv[1] == 'first' else None
before = denormals_flushed()
torch.nn.functional.conv2d(torch.randn(4, 64, 32, 32), torch.randn(64, 64, 3, 3))
warnings = []
hook_module.print_log = lambda message, **kwargs: warnings.append(message)
hook_module.FlushDenormalsHook().before_run(runner=None)
supported = torch.set_flush_denormal(True) if supported is None else supported
outcome = {'before': before, 'after': denormals_flushed(), 'warnings': warnings}
print(json.dumps({**outcome, 'supported': supported}))
"""


def _run(order: str) -> dict:
    result = subprocess.run(
        [sys.executable, '-c', SCRIPT, order],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def _outcome(order: str) -> dict:
    outcome = _run(order)
    if not outcome['supported']:
        pytest.skip('no flush-to-zero mode on this CPU')
    return outcome


def test_set_first_it_reaches_every_thread_and_the_hook_is_silent():
    outcome = _outcome('first')
    assert (outcome['before'], outcome['after'], outcome['warnings']) == (True, True, [])


def test_set_by_the_hook_after_the_threads_started_it_is_detected_and_warned():
    outcome = _outcome('late')
    assert outcome['before'] is False  # nothing flushed yet: the check sees subnormals
    assert outcome['after'] is False  # the second thread kept its mode
    assert len(outcome['warnings']) == 1
    assert 'flush_denormals()' in outcome['warnings'][0]


MODEL_TOOLS = [
    'tools/train.py',
    'tools/test.py',
    'tools/infer.py',
    'tools/enhance.py',
    'tools/analysis_tools/gradcam_regressor.py',
]


@pytest.mark.parametrize('tool', MODEL_TOOLS)
def test_tools_that_run_models_flush_before_anything_else(tool):
    tree = ast.parse((ROOT / tool).read_text())
    main = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == 'main')
    first = main.body[0]
    assert isinstance(first, ast.Expr) and isinstance(first.value, ast.Call)
    assert first.value.func.id == 'flush_denormals'


def test_the_hook_gives_the_thread_back_the_mode_it_found():
    from mmlesion.engine.hooks import FlushDenormalsHook
    from mmlesion.utils.denormals import flushes_on_this_thread

    torch.set_flush_denormal(False)
    hook = FlushDenormalsHook()
    hook.before_run(runner=None)
    during = flushes_on_this_thread()
    hook.after_run(runner=None)
    if not during:
        pytest.skip('no flush-to-zero mode on this CPU')
    assert not flushes_on_this_thread()  # a test suite keeps IEEE subnormals after a run
