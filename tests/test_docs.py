"""The README and the user guides name only configs, tools, docs and imports that exist."""

from __future__ import annotations

import importlib
import itertools
import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCS = [
    REPO_ROOT / 'README.md',
    *sorted((REPO_ROOT / 'docs' / 'en').glob('*.md')),
    # The model-zoo pages of the config folders, and the projects' own READMEs.
    *sorted(REPO_ROOT.glob('configs/**/README.md')),
    *sorted(REPO_ROOT.glob('projects/*/README.md')),
    *sorted(REPO_ROOT.glob('projects/*/configs/**/README.md')),
]

# A repository path as the docs write it: under one of the project's own folders, with an
# optional {a,b} alternation (`configs/enhancer_r18_{bs13,fc4}.py`).
REPO_PATH = re.compile(
    r'(?<![\w./-])((?:configs|tools|docs|mmlesion|tests|projects)/[\w./{},*-]*[\w/}])'
)
# A relative Markdown link target, without its #anchor.
LINK = re.compile(r'\]\(([^)#\s]+)(?:#[^)]*)?\)')
# A dotted mmlesion name (module, or module attribute).
DOTTED = re.compile(r'\bmmlesion(?:\.\w+)+')


def expand_braces(path: str) -> list[str]:
    """``a_{x,y}.py`` -> ``['a_x.py', 'a_y.py']`` (any number of groups)."""
    parts = re.split(r'\{([^{}]*)\}', path)
    options = [[p] if i % 2 == 0 else p.split(',') for i, p in enumerate(parts)]
    return [''.join(choice) for choice in itertools.product(*options)]


def named_paths(doc: Path) -> set[str]:
    text = doc.read_text()
    if doc.name == 'config_renames.md':
        # The rename table's first column names the old paths, which no longer exist.
        text = '\n'.join(
            line.split('|', 2)[2] if line.startswith('|') else line for line in text.splitlines()
        )
    paths = set()
    for match in REPO_PATH.findall(text):
        paths.update(expand_braces(match.rstrip('.,')))
    for target in LINK.findall(text):
        if '://' not in target:
            paths.add(str((doc.parent / target).resolve().relative_to(REPO_ROOT)))
    return paths


def resolves(name: str) -> bool:
    """Whether ``name`` is an importable module, or an attribute of the longest one."""
    parts = name.split('.')
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module('.'.join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            if not hasattr(obj, attribute):
                return False
            obj = getattr(obj, attribute)
        return True
    return False


def test_the_docs_exist_and_the_readme_is_a_front_page() -> None:
    names = {doc.name for doc in DOCS}
    for guide in (
        'get_started.md',
        'dataset_prepare.md',
        'train.md',
        'test.md',
        'inference.md',
        'enhancement.md',
        'results.md',
        'differences.md',
        'useful_tools.md',
    ):
        assert guide in names
    assert len((REPO_ROOT / 'README.md').read_text().splitlines()) < 200


@pytest.mark.parametrize('doc', DOCS, ids=lambda d: str(d.relative_to(REPO_ROOT)))
def test_every_named_path_exists(doc: Path) -> None:
    paths = named_paths(doc)
    missing = sorted(p for p in paths if not any(REPO_ROOT.glob(p)) and '*' not in p)
    missing += sorted(p for p in paths if '*' in p and not list(REPO_ROOT.glob(p)))
    assert not missing, f'{doc.name} names paths that do not exist: {missing}'


@pytest.mark.parametrize('doc', DOCS, ids=lambda d: str(d.relative_to(REPO_ROOT)))
def test_every_named_mmlesion_import_resolves(doc: Path) -> None:
    names = set(DOTTED.findall(doc.read_text()))
    # `from mmlesion.x import a, b` names a and b too.
    for module, imported in re.findall(r'from (mmlesion[\w.]*) import ([\w, ]+)', doc.read_text()):
        names.update(f'{module}.{name.strip()}' for name in imported.split(','))
    unresolved = sorted(name for name in names if not resolves(name))
    assert not unresolved, f'{doc.name} names mmlesion objects that do not exist: {unresolved}'


def test_the_path_finder_sees_what_the_docs_name() -> None:
    # Guards the regular expressions: they must keep finding paths in prose and tables.
    paths = named_paths(REPO_ROOT / 'docs' / 'en' / 'useful_tools.md')
    assert 'tools/dataset_converters/deeplesion_to_coco.py' in paths
    assert 'docs/results/paper_gpu_h200.md' in paths
    assert expand_braces('configs/a_{x,y}.py') == ['configs/a_x.py', 'configs/a_y.py']
    assert resolves('mmlesion.evaluation.DeepLesionMetric')
    assert not resolves('mmlesion.apis.demo')
