"""The result tables of the README and docs/en/results.md, generated from the benchmark JSON.

A document holds each generated table between two markers,

    <!-- generated:NAME -->
    ...
    <!-- /generated:NAME -->

and :func:`fill` replaces what stands between them. ``tools/results_tables.py`` rewrites the
documents; a test fails when a table no longer equals what the JSON gives, so a number cannot
drift from the measurement it came from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from .compared_methods import method_label
from .new_scanner_tables import new_scanner_markdown, new_scanner_verdict
from .synthetic_benchmark import (
    GATED_METHODS,
    benchmark_markdown,
    claim_reading,
    never_hurts_reading,
    per_image_reading,
)

#: The benchmark JSON, relative to the repository root.
BENCHMARK_JSON = 'docs/results/synthetic_benchmark.json'
#: The new-scanner study's JSON (``tools/new_scanner.py``), relative to the repository root.
NEW_SCANNER_JSON = 'docs/results/new_scanner.json'
#: The documents holding generated tables, relative to the repository root.
DOCUMENTS = ('README.md', 'docs/en/results.md')

#: The README's rows: the compared methods in front of the demo detector, then in front of
#: the detector trained without RandomGLCAE (the paper's setting).
SUMMARY_METHODS = (
    'identity',
    'glcae_fixed',
    'clahe_fixed',
    'glcae_tuned',
    'learned',
    'oracle',
    'identity_noaug',
    'glcae_tuned_noaug',
    'learned_noaug',
)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def readme_summary(result: dict) -> str:
    """The README's table: test mAP, AP50 and FROC average sensitivity (0.5–4 FP), percent,
    mean over the seeds with each seed's sensitivity, the ``learned − tuned`` intervals, and
    where every seed has them, issue 29's readings (per-image signal, the gate never hurts)."""
    runs = result['runs']
    seeds = [r['seed'] for r in runs]
    lines = [
        '| test split, percent (mean of seeds '
        + ', '.join(str(s) for s in seeds)
        + ') | mAP | AP50 | avg. sens. | avg. sens. by seed |',
        '|---|---:|---:|---:|---|',
    ]
    for method in SUMMARY_METHODS:
        if not all(method in r['map'] for r in runs):
            continue
        means = [_mean([r[key][method] for r in runs]) for key in ('map', 'ap50', 'froc_avg')]
        by_seed = ' / '.join(f'{r["froc_avg"][method]:.2f}' for r in runs)
        cells = ' | '.join(f'{m:.2f}' for m in means)
        lines.append(f'| {method_label(method)} | {cells} | {by_seed} |')
    lines.append('')
    for suffix, detector in (('', 'demo detector'), ('_noaug', 'detector w/o RandomGLCAE')):
        pair = f'learned{suffix}-glcae_tuned{suffix}'
        if not all(pair in r.get('bootstrap', {}) for r in runs):
            continue
        intervals = '; '.join(
            'seed {}: {:+.2f} [{:+.2f}, {:+.2f}]'.format(
                r['seed'], r['bootstrap'][pair]['point']['map'], *r['bootstrap'][pair]['map']
            )
            for r in runs
        )
        lines.append(
            f'Learned − tuned fixed GLCAE, mAP points with 95 % paired-bootstrap interval '
            f'({detector}): {intervals}. Reading: {claim_reading(runs, "map", suffix)}.'
        )
        lines.append('')
    for suffix, detector in (('', 'demo detector'), ('_noaug', 'detector w/o RandomGLCAE')):
        if all(f'policy{suffix}-glcae_tuned_id{suffix}' in r.get('bootstrap', {}) for r in runs):
            lines += [
                f'Per-image signal ({detector}, mAP): {per_image_reading(runs, "map", suffix)}.',
                '',
            ]
        for method, gate in GATED_METHODS:
            if all(f'{method}{suffix}-identity{suffix}' in r.get('bootstrap', {}) for r in runs):
                lines += [
                    f'Gated enhancer never hurts ({gate}, {detector}): '
                    f'{never_hurts_reading(runs, suffix, method)}.',
                    '',
                ]
    return '\n'.join(lines).rstrip('\n')


#: ``{table name: function of the benchmark JSON}``.
#: Each generated block: the JSON it is made from, and the function that makes it.
GENERATORS: dict[str, tuple[str, Callable[[dict], str]]] = {
    'readme-summary': (BENCHMARK_JSON, readme_summary),
    'benchmark': (BENCHMARK_JSON, benchmark_markdown),
    'new-scanner-verdict': (NEW_SCANNER_JSON, new_scanner_verdict),
    'new-scanner': (NEW_SCANNER_JSON, new_scanner_markdown),
}


def load_results(repo_root: str | Path) -> dict[str, dict]:
    """Every JSON a generator reads (:data:`GENERATORS`), by its path relative to the root."""
    root = Path(repo_root)
    return {path: json.loads((root / path).read_text()) for path, _ in GENERATORS.values()}


_BLOCK = re.compile(r'(<!-- generated:([\w-]+) -->\n)(.*?)(<!-- /generated:\2 -->)', re.S)


def fill(text: str, results: Mapping[str, dict]) -> str:
    """``text`` with every generated block replaced by its table, made from ``results`` (a
    JSON by its path, :func:`load_results`).

    Raises:
        KeyError: a block names a table no generator makes, or its JSON is not in ``results``.
    """

    def replace(match: re.Match) -> str:
        opening, name, _, closing = match.groups()
        path, generate = GENERATORS[name]
        return f'{opening}{generate(results[path])}\n{closing}'

    return _BLOCK.sub(replace, text)


def block_names(text: str) -> list[str]:
    """The names of the generated blocks in ``text``, in order."""
    return [match.group(2) for match in _BLOCK.finditer(text)]


def stale_documents(repo_root: str | Path, results: Mapping[str, dict]) -> list[str]:
    """The documents (of :data:`DOCUMENTS`) whose generated tables differ from ``results``."""
    root = Path(repo_root)
    return [
        doc
        for doc in DOCUMENTS
        if fill((root / doc).read_text(), results) != (root / doc).read_text()
    ]
