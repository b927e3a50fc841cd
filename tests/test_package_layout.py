"""Package layout: ``mmlesion.apis`` is the inference API and does not depend on the main
job's code in ``mmlesion.experiments``; neither package has an import cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / 'mmlesion'


def module_imports(package: str) -> dict[str, set[str]]:
    """``{module: modules of the same package it imports}`` (at any depth in the file)."""
    graph = {}
    for path in sorted((PACKAGE / package).glob('*.py')):
        name = path.stem
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    imported.add(node.module.split('.')[0])
                else:
                    imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                prefix = f'mmlesion.{package}.'
                if node.module.startswith(prefix):
                    imported.add(node.module[len(prefix) :].split('.')[0])
        graph[name] = imported - {name}
    return graph


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


@pytest.mark.parametrize('package', ['apis', 'experiments'])
def test_no_import_cycle(package):
    graph = module_imports(package)
    assert graph, f'no modules found in mmlesion/{package}'
    assert find_cycle(graph) is None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
    assert find_cycle({'a': {'b'}, 'b': set()}) is None


def test_apis_does_not_import_the_experiments():
    for path in (PACKAGE / 'apis').glob('*.py'):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ''
                assert 'experiments' not in module, f'{path.name} imports {module}'
            elif isinstance(node, ast.Import):
                assert not any('experiments' in a.name for a in node.names), path.name


def mmlesion_imports() -> dict[str, set[str]]:
    """``{module: mmlesion modules it imports}`` over every module of the package (dotted
    names, a package by its ``__init__``), with imports at any depth of the file, function-level
    ones included. Only the module named is counted, not the parent packages Python runs first."""
    modules = {}
    for path in PACKAGE.rglob('*.py'):
        parts = path.relative_to(PACKAGE.parent).with_suffix('').parts
        modules['.'.join(parts[:-1] if parts[-1] == '__init__' else parts)] = path
    graph = {}
    for name, path in modules.items():
        package = name if path.name == '__init__.py' else name.rpartition('.')[0]
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ''
                if node.level:
                    base = package.split('.')[: len(package.split('.')) - node.level + 1]
                    module = '.'.join([*base, module] if module else base)
                submodules = [f'{module}.{alias.name}' for alias in node.names]
                # 'from . import x' names submodules (or a compiled extension), not the package.
                candidates = submodules if node.module is None else [module, *submodules]
            elif isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            else:
                continue
            imported.update(c for c in candidates if c in modules)
        graph[name] = imported - {name}
    return graph


def test_no_import_cycle_anywhere_in_mmlesion():
    graph = mmlesion_imports()
    assert 'mmlesion.evaluation.functional.weighted_slices' in graph
    assert find_cycle(graph) is None


def test_the_whole_package_graph_sees_relative_and_function_level_imports():
    graph = mmlesion_imports()
    bootstrap = graph['mmlesion.evaluation.paired_bootstrap']
    assert 'mmlesion.evaluation.functional.weighted_slices' in bootstrap
    assert 'mmlesion.datasets.dl_info' in graph['mmlesion.evaluation.metrics.deeplesion_metric']
