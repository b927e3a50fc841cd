"""Package layout: ``mmlesion`` holds what a user imports and no study code (that lives in
``projects/``), and no package of it has an import cycle among its modules and subpackages,
counting imports inside functions, absolute ``mmlesion.x.y`` imports and relative ones."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / 'mmlesion'
#: ``register_all_modules`` imports every subpackage on purpose (as mmdet's does), and only when
#: called, after import: its file is left out of the top-level graph.
REGISTRATION_MODULES = {'mmlesion.utils.setup_env'}


def module_name(path: Path) -> str:
    """``mmlesion/a/b.py`` -> ``mmlesion.a.b``; ``mmlesion/a/__init__.py`` -> ``mmlesion.a``."""
    parts = path.relative_to(PACKAGE.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in the file, as absolute dotted names.

    ``from m import a`` yields ``m.a`` as well as ``m`` (``a`` may be a submodule).
    """
    name = module_name(path)
    package = name if path.name == '__init__.py' else name.rpartition('.')[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit('.', node.level - 1)[0] if node.level > 1 else package
                module = f'{base}.{node.module}' if node.module else base
            else:
                module = node.module or ''
            found.add(module)
            found.update(f'{module}.{alias.name}' for alias in node.names)
    return found


def packages() -> list[str]:
    """Every package of mmlesion, the top level and every subpackage."""
    return sorted(module_name(p) for p in PACKAGE.rglob('__init__.py'))


def child_graph(package: str) -> dict[str, set[str]]:
    """``{child: children it imports}`` among the direct children (modules and subpackages) of
    ``package``; a child's edges are those of every file inside it."""
    root = PACKAGE.parent.joinpath(*package.split('.'))
    graph: dict[str, set[str]] = {}
    for path in sorted(root.rglob('*.py')):
        name = module_name(path)
        if name == package or (package == 'mmlesion' and name in REGISTRATION_MODULES):
            continue  # the package's own __init__ is not one of its children
        child = name[len(package) + 1 :].split('.')[0]
        targets = graph.setdefault(child, set())
        for module in imported_modules(path):
            if module.startswith(package + '.'):
                targets.add(module[len(package) + 1 :].split('.')[0])
    return {child: targets - {child} for child, targets in graph.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: finished

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for child in sorted(graph.get(node, ())):
            if state.get(child) == 1:
                return [*path, node, child]
            if child not in state and (cycle := visit(child, [*path, node])):
                return cycle
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node, [])):
            return cycle
    return None


@pytest.mark.parametrize('package', packages())
def test_no_import_cycle(package):
    graph = child_graph(package)
    assert graph, f'no modules found in {package}'
    cycle = find_cycle(graph)
    assert cycle is None, f'{package}: import cycle {" -> ".join(cycle)}'


def test_every_package_is_checked():
    found = packages()
    for package in ('mmlesion', 'mmlesion.apis', 'mmlesion.datasets.synthetic'):
        assert package in found
    assert 'mmlesion.evaluation.functional' in found


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
    assert find_cycle({'a': {'b'}, 'b': set()}) is None


def test_imports_are_resolved_at_any_depth_and_level(tmp_path, monkeypatch):
    source = (
        'from . import a\n'
        'from ..b import c\n'
        'import mmlesion.d.e\n'
        'def f():\n'
        '    from ...g import h\n'
    )
    path = PACKAGE / 'evaluation' / 'functional' / 'froc.py'
    monkeypatch.setattr(Path, 'read_text', lambda self: source)
    found = imported_modules(path)
    assert {
        'mmlesion.evaluation.functional.a',
        'mmlesion.evaluation.b.c',
        'mmlesion.d.e',
        'mmlesion.g.h',
    } <= found


def test_mmlesion_has_no_study_code():
    """Nothing in the package imports ``projects`` (the study) or the old ``experiments``."""
    assert not list(PACKAGE.glob('experiments/*.py'))
    for path in PACKAGE.rglob('*.py'):
        for module in imported_modules(path):
            top = module.split('.')
            assert top[0] != 'projects', f'{path.relative_to(PACKAGE.parent)} imports {module}'
            assert 'experiments' not in top, f'{path.relative_to(PACKAGE.parent)} imports {module}'
