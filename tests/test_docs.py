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
#: The dated lab notebook: it names configs, modules and flags of its day, some since renamed or
#: removed (git keeps them); the guides may not.
HISTORY = REPO_ROOT / 'docs' / 'en' / 'history.md'
CHECKED_DOCS = [doc for doc in DOCS if doc != HISTORY]

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


@pytest.mark.parametrize('doc', CHECKED_DOCS, ids=lambda d: str(d.relative_to(REPO_ROOT)))
def test_every_named_path_exists(doc: Path) -> None:
    paths = named_paths(doc)
    missing = sorted(p for p in paths if not any(REPO_ROOT.glob(p)) and '*' not in p)
    missing += sorted(p for p in paths if '*' in p and not list(REPO_ROOT.glob(p)))
    assert not missing, f'{doc.name} names paths that do not exist: {missing}'


@pytest.mark.parametrize('doc', CHECKED_DOCS, ids=lambda d: str(d.relative_to(REPO_ROOT)))
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


# -- flags: every `--flag` the docs give a tool is one of that tool's options ------------------
TOOL_SCRIPT = re.compile(r'tools/[\w/]+\.(?:py|sh)')
FLAG = re.compile(r'(?<![\w-])--[a-zA-Z][\w-]*')
CODE_SPAN = re.compile(r'`([^`]+)`')
# Where one shell command ends and the next begins on a line.
COMMAND_SEPARATOR = re.compile(r'&&|\|\||;|\|')


def _add(found: dict[str, set[str]], tool: str, text: str) -> None:
    found.setdefault(tool, set()).update(FLAG.findall(text))


def documented_tool_flags(doc: Path) -> dict[str, set[str]]:
    """Per ``tools/`` script, the flags ``doc`` gives it.

    - In a code block, each command (continuation lines joined, ``#`` comments cut, split at
      ``&&``, ``;``, ``|``) gives its flags to the first script it runs.
    - In a table row whose first cell names a script, the flags of every code span that names
      no other script are that script's.
    - Elsewhere, a code span naming a script gives it the flags in that span.
    """
    found: dict[str, set[str]] = {}
    in_block, command = False, ''
    for line in doc.read_text().splitlines():
        if line.lstrip().startswith('```'):
            in_block, command = not in_block, ''
            continue
        if in_block:
            if line.lstrip().startswith('#'):
                continue
            command += line.split(' #')[0]
            if line.rstrip().endswith('\\'):
                command = command.rstrip('\\')
                continue
            for part in COMMAND_SEPARATOR.split(command):
                scripts = TOOL_SCRIPT.findall(part)
                if scripts:
                    _add(found, scripts[0], part[part.index(scripts[0]) :])
            command = ''
            continue
        spans = CODE_SPAN.findall(line)
        row_tool = None
        if line.startswith('|'):
            first_cell = line.split('|')[1]
            scripts = TOOL_SCRIPT.findall(first_cell)
            row_tool = scripts[0] if scripts else None
        for span in spans:
            scripts = TOOL_SCRIPT.findall(span)
            if scripts:
                _add(found, scripts[0], span[span.index(scripts[0]) :])
            elif row_tool is not None:
                _add(found, row_tool, span)
    return found


def tool_sources(tool: str) -> list[tuple[str, bool]]:
    """``(text, is_python)`` of a script and, for a shell script, of the Python tools it runs
    (which get its extra arguments)."""
    text = (REPO_ROOT / tool).read_text()
    if tool.endswith('.py'):
        return [(text, True)]
    called = sorted(set(TOOL_SCRIPT.findall(text)))
    return [(text, False), *(((REPO_ROOT / t).read_text(), True) for t in called if t != tool)]


def tool_accepts(tool: str, flag: str) -> bool:
    """Whether a Python tool defines ``flag`` as a quoted option string (argparse), or a shell
    script (or a tool it runs) names it."""
    quoted = re.compile(rf'[\'"]{re.escape(flag)}[\'"]')
    bare = re.compile(rf'(?<![\w-]){re.escape(flag)}(?![\w-])')
    return any(
        (quoted if is_python else bare).search(text) for text, is_python in tool_sources(tool)
    )


@pytest.mark.parametrize('doc', CHECKED_DOCS, ids=lambda d: d.name)
def test_every_documented_flag_is_an_option_of_its_tool(doc: Path) -> None:
    unknown = sorted(
        f'{tool} {flag}'
        for tool, flags in documented_tool_flags(doc).items()
        if (REPO_ROOT / tool).is_file()
        for flag in flags
        if not tool_accepts(tool, flag)
    )
    assert not unknown, f'{doc.name} gives tools options they do not have: {unknown}'


def test_the_flag_finder_sees_the_documented_tools_and_flags() -> None:
    # Guards documented_tool_flags: tables, code blocks and code spans are all read.
    flags = documented_tool_flags(REPO_ROOT / 'docs' / 'en' / 'useful_tools.md')
    assert {'--show-dir', '--show', '--wait-time', '--out'} <= flags['tools/test.py']
    assert {'--protocol', '--out-json'} <= flags['tools/analysis_tools/eval_metric.py']
    assert '--out' not in flags['tools/analysis_tools/eval_metric.py']  # that one is test.py's
    assert {'--output-dir', '--split', '--max-images'} <= flags[
        'tools/analysis_tools/browse_dataset.py'
    ]
    assert {'--keys', '--out', '--include-outliers'} <= flags[
        'tools/analysis_tools/analyze_logs.py'
    ]
    assert {'--cfg-options', '--save-path'} <= flags['tools/misc/print_config.py']
    assert '--auto-scale-lr' in flags['tools/slurm_train.sh']
    test_md = documented_tool_flags(REPO_ROOT / 'docs' / 'en' / 'test.md')
    assert '--protocol' in test_md['tools/analysis_tools/eval_metric.py']
    assert tool_accepts('tools/slurm_train.sh', '--amp')  # passed on to tools/train.py
    assert not tool_accepts('tools/test.py', '--amp')
    assert not tool_accepts('tools/analysis_tools/eval_metric.py', '--out')


# -- metric keys: test.md's table is what DeepLesionMetric returns ------------------------------
METRIC_KEY_ROW = re.compile(r'^\| `(deeplesion/[^`]+)` \|', re.MULTILINE)


def test_test_md_lists_every_key_the_metric_returns() -> None:
    import numpy as np

    from mmlesion.evaluation import DeepLesionMetric

    documented = set(METRIC_KEY_ROW.findall((REPO_ROOT / 'docs' / 'en' / 'test.md').read_text()))
    sample = {
        'gt_instances': {'bboxes': np.array([[10.0, 10, 30, 30]]), 'labels': np.array([0])},
        'pred_instances': {
            'bboxes': np.array([[10.0, 10, 30, 30], [50, 50, 60, 60]]),
            'scores': np.array([0.9, 0.1]),
            'labels': np.array([0, 0]),
        },
        'lesion_types': np.array([4]),  # liver: the liver_* keys have a value
        'spacing_mm': (0.8, 0.8),
    }
    returned = set()
    for protocol in ('mmlesion', '3dce', 'mulan', 'mp3d'):
        for classes in (('lesion',), ('a', 'b', 'c', 'd')):
            metric = DeepLesionMetric(protocol=protocol)
            metric.dataset_meta = {'classes': classes}
            metric.process({}, [sample])
            keys = metric.evaluate(1)
            # The per-class keys are documented once, as a pattern.
            returned |= {
                'deeplesion/AP_<class>' if key.removeprefix('deeplesion/AP_') in classes else key
                for key in keys
            }
    assert documented == returned


def test_only_the_history_names_dates_sessions_and_commits() -> None:
    """The guides describe the current state: a dated log, a session or a commit id belongs in
    docs/en/history.md (the results pages name the dates of their measurements only there)."""
    guides = [REPO_ROOT / 'README.md', *(REPO_ROOT / 'docs' / 'en').glob('*.md')]
    for doc in guides:
        if doc in (HISTORY,):
            continue
        text = doc.read_text()
        assert not re.search(r'\b(session|sessions)\b', text, re.I), f'{doc.name}: "session"'
        assert not re.search(r'\bcommit [0-9a-f]{7}\b', text), f'{doc.name}: a commit id'
