"""The README's and results.md's tables are what the benchmark JSON gives."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from projects.enhancement_benchmark.benchmark.results_tables import (
    BENCHMARK_JSON,
    DOCUMENTS,
    block_names,
    fill,
    readme_summary,
    stale_documents,
)

ROOT = Path(__file__).resolve().parents[3]


def benchmark() -> dict:
    return json.loads((ROOT / BENCHMARK_JSON).read_text())


def test_the_documents_hold_their_generated_tables():
    assert 'readme-summary' in block_names((ROOT / 'README.md').read_text())
    assert 'benchmark' in block_names((ROOT / 'docs/en/results.md').read_text())
    for doc in DOCUMENTS:
        assert block_names((ROOT / doc).read_text()), f'{doc} has no generated table'


def test_the_tables_equal_the_json():
    stale = stale_documents(ROOT, benchmark())
    assert not stale, f'{stale}: run python projects/enhancement_benchmark/tools/results_tables.py'


def test_a_changed_number_makes_the_readme_stale():
    result = benchmark()
    changed = copy.deepcopy(result)
    changed['runs'][0]['froc_avg']['identity'] += 1.0
    assert readme_summary(changed) != readme_summary(result)
    text = (ROOT / 'README.md').read_text()
    assert fill(text, changed) != text


def test_the_summary_states_the_intervals_and_their_reading():
    summary = readme_summary(benchmark())
    assert 'detector alone' in summary
    assert summary.count('95 % paired-bootstrap interval') == 2  # both detectors
    assert 'Reading:' in summary
