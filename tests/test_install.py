"""The install story: one source of truth for the pins, one recipe for CPU and CUDA."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / 'requirements'
PIN = re.compile(r'^([A-Za-z0-9_.-]+)\s*(==|<|>=|<=)')


def requirement_lines(path: Path) -> list[str]:
    lines = [line.strip() for line in path.read_text().splitlines()]
    return [line for line in lines if line and not line.startswith('#')]


def pinned_names(path: Path) -> list[str]:
    names = []
    for line in requirement_lines(path):
        match = PIN.match(line) or re.match(r'^([A-Za-z0-9_.-]+)$', line)
        assert match, f'{path.name}: cannot read the requirement {line!r}'
        names.append(match.group(1).lower())
    return names


def test_requirements_txt_only_includes_the_role_files():
    lines = requirement_lines(ROOT / 'requirements.txt')
    assert all(line.startswith('-r requirements/') for line in lines), lines
    included = {line.split('/', 1)[1] for line in lines}
    # mmcv is compiled with the build tools first (make venv); torchvision is optional.
    assert included == {'torch.txt', 'runtime.txt', 'tests.txt'}


def test_every_package_is_pinned_in_one_place():
    seen: dict[str, str] = {}
    for path in sorted(REQUIREMENTS.glob('*.txt')):
        for name in pinned_names(path):
            assert name not in seen, f'{name} is pinned in {seen[name]} and {path.name}'
            seen[name] = path.name
    for needed in ('torch', 'mmcv', 'mmengine', 'mmdet', 'numpy', 'opencv-python'):
        assert needed in seen, f'{needed} is pinned nowhere in requirements/'
    assert 'opencv-python-headless' not in seen  # one OpenCV package


def exact_version(path: Path, name: str) -> tuple[int, int]:
    for line in requirement_lines(path):
        if line.startswith(f'{name}=='):
            major, minor = line.split('==')[1].split('.')[:2]
            return int(major), int(minor)
    raise AssertionError(f'{name} has no exact pin in {path}')


def test_torchvision_is_the_build_of_the_pinned_torch():
    torch_major, torch_minor = exact_version(REQUIREMENTS / 'torch.txt', 'torch')
    vision_major, vision_minor = exact_version(REQUIREMENTS / 'optional.txt', 'torchvision')
    # torchvision 0.N+15 is released with torch 2.N.
    assert (torch_major, vision_major, vision_minor) == (2, 0, torch_minor + 15)


def test_setup_imagenet_extra_reads_optional_txt():
    text = (ROOT / 'setup.py').read_text()
    assert "extras_require={'imagenet': read_requirement('optional')}" in text
    assert 'torchvision==' not in text


def dry_run(target: str, **variables: str) -> str:
    """The commands ``make -n TARGET`` would run for a virtualenv that does not exist yet."""
    args = ['make', '-n', '-B', target, 'VENV=/nonexistent/venv']
    args += [f'{key}={value}' for key, value in variables.items()]
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=True)
    return '\n'.join(line for line in result.stdout.splitlines() if not line.startswith('#'))


@pytest.mark.parametrize('cuda', ['', 'cu130'])
def test_cpu_and_cuda_recipes_share_the_pins_and_checks(cuda):
    commands = dry_run('venv', CUDA=cuda)
    lines = commands.splitlines()
    mmcv_at = next(i for i, line in enumerate(lines) if 'requirements/mmcv.txt' in line)
    before = '\n'.join(lines[:mmcv_at])
    # mmcv's build imports torch, numpy and OpenCV: each installed before it, at its pin.
    assert '-r requirements/torch.txt' in before and '-r requirements/build.txt' in before
    for pin in ('numpy==', 'opencv-python=='):
        runtime_pin = next(
            line for line in requirement_lines(REQUIREMENTS / 'runtime.txt') if line.startswith(pin)
        )
        assert runtime_pin in before
    assert any('-r requirements.txt' in line for line in lines[mmcv_at:])
    mmcv_line = next(line for line in commands.splitlines() if 'requirements/mmcv.txt' in line)
    assert 'MMCV_WITH_OPS=1' in mmcv_line and '--no-build-isolation' in mmcv_line
    assert ('FORCE_CUDA=1' in mmcv_line) == bool(cuda)
    editable = next(line for line in commands.splitlines() if 'install' in line and ' -e .' in line)
    assert '--no-build-isolation' in editable  # else the fused kernel is silently not built
    check = next(line for line in commands.splitlines() if 'check_install.py' in line)
    assert '--require-native-kernel' in check
    assert ('--cuda' in check) == bool(cuda)
    if cuda:
        assert f'https://download.pytorch.org/whl/{cuda}' in commands
        assert '-r requirements/optional.txt' in commands
    else:
        assert 'download.pytorch.org' not in commands
    assert 'torch==' not in commands and 'mmcv==' not in commands  # pins come from the files
    assert 'setuptools' not in commands  # build.txt holds that pin


def test_venv_cuda_defaults_to_a_cuda_build():
    commands = dry_run('venv-cuda')
    assert 'CUDA=cu130' in commands


def test_check_install_reports_this_installation():
    result = subprocess.run(
        [sys.executable, 'tools/misc/check_install.py'],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert 'mmcv ops (CPU): nms ok' in result.stdout
    assert 'fused CPU GLCAE kernel' in result.stdout


def test_check_install_cuda_fails_clearly_without_a_gpu():
    import torch

    if torch.cuda.is_available():
        pytest.skip('a CUDA device is present')
    result = subprocess.run(
        [sys.executable, 'tools/misc/check_install.py', '--cuda'],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert 'sees no CUDA device' in result.stderr
