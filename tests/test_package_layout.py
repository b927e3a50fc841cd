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
