"""The README's and results.md's tables are what the benchmark JSON gives."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from projects.enhancement_benchmark.benchmark.new_scanner_tables import (
    new_scanner_markdown,
    new_scanner_verdict,
)
from projects.enhancement_benchmark.benchmark.results_tables import (
    BENCHMARK_JSON,
    DOCUMENTS,
    NEW_SCANNER_JSON,
    block_names,
    fill,
    load_results,
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
    stale = stale_documents(ROOT, load_results(ROOT))
    assert not stale, f'{stale}: run python projects/enhancement_benchmark/tools/results_tables.py'


def test_a_changed_number_makes_the_readme_stale():
    result = benchmark()
    changed = copy.deepcopy(result)
    changed['runs'][0]['froc_avg']['identity'] += 1.0
    assert readme_summary(changed) != readme_summary(result)
    text = (ROOT / 'README.md').read_text()
    assert fill(text, {**load_results(ROOT), BENCHMARK_JSON: changed}) != text


def test_the_summary_states_the_intervals_and_their_reading():
    summary = readme_summary(benchmark())
    assert 'detector alone' in summary
    assert summary.count('95 % paired-bootstrap interval') == 2  # both detectors
    assert 'Reading:' in summary


def new_scanner() -> dict:
    return json.loads((ROOT / NEW_SCANNER_JSON).read_text())


def test_the_readme_states_the_new_scanner_verdict_from_its_json():
    assert 'new-scanner-verdict' in block_names((ROOT / 'README.md').read_text())
    assert 'new-scanner' in block_names((ROOT / 'docs/en/results.md').read_text())
    result = new_scanner()
    verdict = new_scanner_verdict(result)
    assert 'Reading:' in verdict
    pooled = result['bootstrap']['enhancer-alone']['froc_avg']
    assert f'[{pooled[0]:+.2f}, {pooled[1]:+.2f}]' in verdict
    changed = copy.deepcopy(result)
    changed['runs'][0]['froc_avg']['finetuned'] += 1.0
    assert new_scanner_markdown(changed) != new_scanner_markdown(result)


def test_the_new_scanner_reading_follows_the_intervals():
    result = new_scanner()
    winning = copy.deepcopy(result)
    for run in winning['runs']:
        run['bootstrap']['enhancer-alone']['froc_avg'] = [1.0, 5.0]
        run['bootstrap']['enhancer-tuned_fixed']['froc_avg'] = [0.5, 3.0]
        run['bootstrap']['enhancer-finetuned']['froc_avg'] = [-1.0, 2.0]
        run['bootstrap']['finetuned-alone']['froc_avg'] = [1.0, 6.0]
        run['froc_avg'].update(alone=30.0, enhancer=40.0, finetuned=42.0)
    assert 'pays for itself' in new_scanner_verdict(winning)
    assert 'recovers 83 % of the gap' in new_scanner_verdict(winning)
    fixed_does_it = copy.deepcopy(winning)
    for run in fixed_does_it['runs']:
        run['bootstrap']['enhancer-tuned_fixed']['froc_avg'] = [-0.5, 1.5]
    assert 'not shown to be per image' in new_scanner_verdict(fixed_does_it)
    losing = copy.deepcopy(result)
    for run in losing['runs']:
        run['bootstrap']['enhancer-alone']['froc_avg'] = [-1.0, 1.0]
        run['bootstrap']['enhancer-finetuned']['froc_avg'] = [-9.0, -2.0]
    assert 'fine-tuning the detector beats' in new_scanner_verdict(losing)


def test_the_summary_states_issue_29s_readings_where_every_seed_has_them():
    from .test_synthetic_benchmark import bench_record, signal_record

    runs = []
    for seed in (0, 1):
        record = bench_record(seed, 6.0, {'learned-glcae_tuned': [-0.5, 0.7]})
        extra = signal_record(seed, policy=(-1.0, 0.2), gated=(-0.3, 0.4))
        record['map'] = record['ap50'] = record['froc_avg'] = {**record['map'], **extra['map']}
        record['bootstrap'].update(extra['bootstrap'])
        runs.append(record)
    summary = readme_summary({'runs': runs})
    assert 'Per-image signal (demo detector, mAP): no per-image signal in this data' in summary
    assert 'null +2.00, cross-fit +0.50, GLCAE oracle +3.00' in summary
    assert 'Gated enhancer never hurts (gate as trained, demo detector): yes' in summary
    assert 'gate checked on val' not in summary  # no seed has that pair
    # One seed without the policy: no per-image reading at all.
    del runs[1]['bootstrap']['policy-glcae_tuned_id']
    assert 'Per-image signal' not in readme_summary({'runs': runs})
