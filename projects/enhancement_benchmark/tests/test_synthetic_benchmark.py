"""The synthetic benchmark's bookkeeping: seed folders and the records of its JSON."""

import pytest

from projects.enhancement_benchmark.benchmark.demo import DemoSettings
from projects.enhancement_benchmark.benchmark.synthetic_benchmark import (
    BenchmarkSettings,
    seed_record,
)


def test_the_main_jobs_seed_reuses_its_folders_and_others_get_their_own():
    settings = BenchmarkSettings(seeds=(0, 1), demo=DemoSettings())
    first, second = (settings.seed_settings(s) for s in (0, 1))
    assert (first.work_dir, first.data_root) == ('work_dirs/demo', 'data/synthetic_deeplesion')
    assert (second.work_dir, second.data_root) == (
        'work_dirs/demo_seed1',
        'data/synthetic_deeplesion_seed1',
    )
    assert second.seed == 1 and second.detector_config == first.detector_config
    # The benchmark turns on what make demo skips, for every seed.
    assert first.noaug and first.noaug_enhancer and first.baselines and second.baselines
    assert first.gated and first.policy and first.tta and first.selection
    lean = BenchmarkSettings(
        demo=DemoSettings(), noaug=False, baselines=False, gated=False, policy=False, tta=False
    )
    assert lean.seed_settings(0).enabled_stages() == DemoSettings().enabled_stages()


def test_seed_record_keeps_the_metrics_in_percent():
    metrics = {'deeplesion/mAP': 0.05, 'deeplesion/AP50': 0.1, 'deeplesion/avg_sens': 0.2}
    metrics['deeplesion/liver_mAP'] = 0.03
    report = {
        'machine': 'cpu',
        'test': {'identity': metrics, 'learned': {**metrics, 'deeplesion/mAP': 0.07}},
        'test_by_profile': {'learned': {'noisy': {'deeplesion/mAP': 0.04, 'num_images': 3.0}}},
        'enhancer_curve': {'epoch': [1]},
        'timing': {'overhead_pct': 9.0},
        'stage_seconds': {'data': 1.0},
    }
    record = seed_record(DemoSettings(seed=2), report)
    assert record['seed'] == 2 and record['device'] == 'cpu'
    assert record['map'] == pytest.approx({'identity': 5.0, 'learned': 7.0})
    assert record['ap50']['learned'] == pytest.approx(10.0)
    assert record['froc_avg']['identity'] == pytest.approx(20.0)
    assert record['map_by_profile'] == {'learned': {'noisy': pytest.approx(4.0)}}
    assert record['timings'] == {'overhead_pct': 9.0}


def bench_record(seed, learned, intervals=None):
    maps = {'identity': 4.0, 'glcae_fixed': 5.0, 'clahe_fixed': 5.5, 'learned': learned}
    record = {
        'seed': seed,
        'map': maps,
        'ap50': maps,
        'froc_avg': maps,
        'map_by_profile': {m: {'noisy': v} for m, v in maps.items()},
        'timings': {
            'detector_img_per_s': 30.0,
            'enhanced_img_per_s': 25.0,
            'enhancement_ms': 5.0,
            'overhead_pct': 15.0,
        },
    }
    if intervals is not None:
        record['map'] = {**maps, 'glcae_tuned': 5.8, 'oracle': 9.0, 'identity_noaug': 3.0}
        record['ap50'] = record['froc_avg'] = record['map']
        record['bootstrap'] = {
            pair: {
                'map': interval,
                'froc_avg': interval,
                'point': {'map': sum(interval) / 2, 'froc_avg': sum(interval) / 2},
                'resamples': 1000,
                'seed': 0,
            }
            for pair, interval in intervals.items()
        }
    return record


def test_markdown_tables_and_the_ordering_verdict():
    from projects.enhancement_benchmark.benchmark.synthetic_benchmark import benchmark_markdown

    ablation = {'ablation': '4 FC layers', 'map': 6.1, 'ap50': 12.0, 'froc_avg': 20.0}
    text = benchmark_markdown(
        {'runs': [bench_record(0, 6.0), bench_record(1, 6.5)], 'ablations': [ablation]}
    )
    assert '| learned GLCAE (ours) | 6.00 | 6.50 | 6.25 |' in text
    assert 'on every seed: yes' in text
    assert '| 4 FC layers | 6.10 | 12.00 | 20.00 |' in text
    worse = benchmark_markdown({'runs': [bench_record(0, 6.0), bench_record(1, 4.5)]})
    assert 'on every seed: no' in worse


def test_markdown_shows_new_methods_intervals_and_the_reading():
    from projects.enhancement_benchmark.benchmark.synthetic_benchmark import benchmark_markdown

    runs_ = [
        bench_record(0, 6.0, {'learned-glcae_tuned': [-0.5, 0.7], 'learned-identity': [1, 3]}),
        bench_record(1, 6.5, {'learned-glcae_tuned': [-0.2, 0.9], 'learned-identity': [1, 4]}),
    ]
    text = benchmark_markdown({'runs': runs_})
    assert '| fixed GLCAE tuned on val | 5.80 | 5.80 |' in text
    assert '| oracle per slice (upper bound) | 9.00 |' in text
    assert '| detector alone [detector w/o RandomGLCAE] | 3.00 |' in text
    assert '| 0 | learned-glcae_tuned | +0.10 [-0.50, +0.70] | +0.10 [-0.50, +0.70] |' in text
    assert 'Reading (mAP): learned ≈ tuned fixed' in text


def test_markdown_of_seeds_that_have_not_run_every_stage():
    from projects.enhancement_benchmark.benchmark.synthetic_benchmark import benchmark_markdown

    full = bench_record(
        0, 6.0, {'learned-glcae_tuned': [-0.5, 0.7], 'learned_noaug-glcae_tuned_noaug': [-1, 0]}
    )
    full['map'] = full['ap50'] = full['froc_avg'] = {**full['map'], 'learned_noaug': 2.5}
    partial = bench_record(1, 6.5, {'learned-glcae_tuned': [-0.2, 0.9]})
    del partial['map']['identity_noaug']
    text = benchmark_markdown({'runs': [full, partial]})
    # A method some seed lacks: its cell and its means are dashes, the others' means stand.
    assert '| detector alone [detector w/o RandomGLCAE] | 3.00 | — | — | — | — |' in text
    assert '| learned GLCAE (ours) [detector w/o RandomGLCAE] | 2.50 | — | — | — | — |' in text
    assert '| learned GLCAE (ours) | 6.00 | 6.50 | 6.25 |' in text
    # Every seed's intervals, and no reading where a seed lacks the pair.
    assert '| 0 | learned_noaug-glcae_tuned_noaug | -0.50 [-1.00, +0.00] |' in text
    assert '| 1 | learned_noaug-glcae_tuned_noaug' not in text
    assert 'Reading (mAP): learned ≈ tuned fixed' in text
    assert 'Reading (mAP, detector w/o RandomGLCAE): no learned_noaug-glcae_tuned_noaug' in text


@pytest.mark.parametrize(
    ('intervals', 'verdict'),
    [
        ([[0.1, 1.0], [0.3, 2.0]], 'per-image learned > tuned fixed'),
        ([[-0.5, 1.0], [-0.1, 0.2]], 'learned ≈ tuned fixed'),
        ([[0.1, 1.0], [-0.1, 0.2]], 'neither'),
        ([[-2.0, -0.1], [-0.5, 0.5]], 'neither'),
    ],
)
def test_claim_reading_follows_the_intervals(intervals, verdict):
    from projects.enhancement_benchmark.benchmark.synthetic_benchmark import claim_reading

    runs_ = [
        bench_record(seed, 6.0, {'learned-glcae_tuned': interval})
        for seed, interval in enumerate(intervals)
    ]
    assert claim_reading(runs_).startswith(verdict)
    assert 'no reading' in claim_reading([bench_record(0, 6.0)])


def test_a_gpu_run_joins_the_cpu_seeds_in_one_file():
    from projects.enhancement_benchmark.benchmark.synthetic_benchmark import merge_results

    def run(seed, device, detector='configs/demo/faster_rcnn_r18-w32_fpn_48e_synth.py', value=1.0):
        return {
            'seed': seed,
            'device': device,
            'detector_config': detector,
            'enhancer_config': 'e.py',
            'value': value,
        }

    cpu = {'machine': 'cpu', 'runs': [run(0, 'cpu'), run(1, 'cpu')], 'ablations': [{'a': 1}]}
    gpu = {'machine': 'H200', 'runs': [run(0, 'H200', 'configs/gpu/r50.py')]}
    merged = merge_results(cpu, gpu)
    runs = [(r['seed'], r['device']) for r in merged['runs']]
    assert runs == [(0, 'cpu'), (1, 'cpu'), (0, 'H200')]
    assert merged['ablations'] == [{'a': 1}] and merged['machine'] == 'cpu'
    # The same seed, device and configs again: the newer run replaces the older.
    again = merge_results(merged, {'machine': 'cpu', 'runs': [run(1, 'cpu', value=2.0)]})
    assert [r['value'] for r in again['runs'] if r['seed'] == 1] == [2.0]
    assert [(r['seed'], r['device']) for r in again['runs']] == runs  # in its place


def test_presets_name_existing_configs():
    from pathlib import Path

    from projects.enhancement_benchmark.benchmark.demo import PRESETS

    root = Path(__file__).resolve().parents[3]  # the repository root
    for name in PRESETS:
        settings = DemoSettings.from_preset(name, seed=3, work_dir=None)
        assert settings.seed == 3  # an override
        for key in ('detector_config', 'enhancer_config', 'identity_config'):
            assert (root / getattr(settings, key)).is_file(), (name, key)
    gpu = DemoSettings.from_preset('paper_gpu')
    assert gpu.image_size == 512 and gpu.work_dir != DemoSettings().work_dir
    # The GPU preset has no detector without RandomGLCAE: the benchmark skips those stages.
    gpu_benchmark = BenchmarkSettings(demo=gpu).seed_settings(0)
    assert 'detector_noaug' not in gpu_benchmark.enabled_stages()
    assert 'baselines' in gpu_benchmark.enabled_stages()
    noaug = DemoSettings.from_preset('demo').noaug_detector_config
    assert (root / noaug).is_file()
    with pytest.raises(KeyError, match='unknown preset'):
        DemoSettings.from_preset('paper_tpu')


def interval(low, high):
    return {
        'map': [low, high],
        'froc_avg': [low, high],
        'point': {'map': (low + high) / 2, 'froc_avg': (low + high) / 2},
        'resamples': 1000,
        'seed': 0,
    }


#: A gate check's record (``mmlesion.apis.GateDecision.as_dict``).
GATE_CHECK = {
    'open': False,
    'gain': 0.67,
    'interval': [-0.41, 1.74],
    'min_gain': 0.0,
    'confidence': 0.95,
    'split': 'val',
    'num_slices': 219,
}


def test_the_report_states_a_gate_check_in_words():
    from projects.enhancement_benchmark.benchmark.demo_report import gate_sentence

    assert gate_sentence(GATE_CHECK) == (
        'gate closed (the detector alone): enhancer − detector alone on val +0.67 mAP points '
        '[-0.41, +1.74] (95% paired bootstrap, 219 slices), lower bound above +0.00 needed'
    )
    assert gate_sentence({**GATE_CHECK, 'open': True}).startswith('gate open:')


def signal_record(seed, policy=None, gated=None, suffix='', checked=None):
    """A seed's record with issue 29's methods: the oracles' mAP 2 / 0.5 / 3 points above the
    detector alone (null / cross-fit / GLCAE oracle), and the given intervals (``checked``: of
    the gated enhancer whose gate was checked on val)."""
    maps = {
        name + suffix: value
        for name, value in (
            ('identity', 10.0),
            ('glcae_tuned_id', 10.0),
            ('oracle_null', 12.0),
            ('oracle_crossfit', 10.5),
            ('oracle', 13.0),
        )
    }
    bootstrap = {}
    if policy is not None:
        bootstrap[f'policy{suffix}-glcae_tuned_id{suffix}'] = interval(*policy)
    if gated is not None:
        bootstrap[f'learned_gated{suffix}-identity{suffix}'] = interval(*gated)
    if checked is not None:
        bootstrap[f'learned_gated_checked{suffix}-identity{suffix}'] = interval(*checked)
    return {'seed': seed, 'map': maps, 'froc_avg': maps, 'bootstrap': bootstrap}


@pytest.mark.parametrize(
    'policy',
    [
        # point > 0 on two of three seeds, one interval above 0
        [(0.2, 1.0), (-0.1, 0.5), (-1.0, 0.2)],
        [(0.2, 1.0), (0.1, 0.5), (0.3, 0.9)],
    ],
)
def test_per_image_reading_claims_a_gain_only_from_the_intervals(policy):
    from projects.enhancement_benchmark.benchmark.synthetic_benchmark import per_image_reading

    runs_ = [signal_record(seed, interval_) for seed, interval_ in enumerate(policy)]
    reading = per_image_reading(runs_)
    assert reading.startswith('per-image choice beats the best fixed setting here')
    assert 'seed 0: +0.60 [+0.20, +1.00]' in reading


@pytest.mark.parametrize(
    'policy',
    [
        # points above 0 on every seed, but no interval excludes 0
        [(-0.1, 1.0), (-0.2, 0.5), (-0.3, 0.9)],
        # one interval above 0, but the point above 0 on one seed only
        [(0.2, 1.0), (-1.0, 0.5), (-1.0, 0.2)],
    ],
)
def test_per_image_reading_states_the_refutation_with_the_margins(policy):
    from projects.enhancement_benchmark.benchmark.synthetic_benchmark import per_image_reading

    runs_ = [
        signal_record(seed, interval_, suffix='_noaug') for seed, interval_ in enumerate(policy)
    ]
    reading = per_image_reading(runs_, suffix='_noaug')
    assert reading.startswith(
        'no per-image signal in this data: null +2.00, cross-fit +0.50, GLCAE oracle +3.00'
    )
    assert 'policy_noaug-glcae_tuned_id_noaug' in reading
    assert 'no reading' in per_image_reading(runs_)  # no main-detector intervals


def test_never_hurts_needs_every_lower_bound_above_the_target():
    from projects.enhancement_benchmark.benchmark.synthetic_benchmark import never_hurts_reading

    safe = [signal_record(0, gated=(-0.5, 0.3)), signal_record(1, gated=(-0.2, 0.1))]
    assert never_hurts_reading(safe).startswith('yes')
    hurts = [signal_record(0, gated=(-0.5, 0.3)), signal_record(1, gated=(-0.6, 0.1))]
    reading = never_hurts_reading(hurts)
    assert reading.startswith('no') and 'seed 1: -0.60' in reading
    assert 'no reading' in never_hurts_reading([signal_record(0)])
    # The gate checked on val is read from its own pair.
    checked = [
        signal_record(0, gated=(-0.5, 0.3), checked=(0.0, 0.0)),
        signal_record(1, gated=(-0.6, 0.1), checked=(0.0, 0.0)),
    ]
    assert never_hurts_reading(checked).startswith('no')
    reading = never_hurts_reading(checked, method='learned_gated_checked')
    assert reading.startswith('yes') and 'learned_gated_checked-identity' in reading


def test_markdown_shows_the_issue_29_tables_and_readings():
    from projects.enhancement_benchmark.benchmark.synthetic_benchmark import benchmark_markdown

    runs_ = []
    for seed in (0, 1):
        record = bench_record(seed, 6.0, {'learned-identity': [1, 3]})
        extra = signal_record(seed, policy=(0.2, 1.0), gated=(-0.1, 0.4), checked=(-0.9, 0.0))
        record['map'] = record['ap50'] = record['froc_avg'] = {
            **record['map'],
            **extra['map'],
            'policy': 10.6,
            'learned_gated': 10.1,
        }
        record['bootstrap'].update(
            {pair: {**b, 'resamples': 1000, 'seed': 0} for pair, b in extra['bootstrap'].items()}
        )
        spread = {'pooled_map_std': 0.4, 'pooled_map_range': 1.0, 'slice_ap_std': 3.0}
        record['baselines'] = {
            'main': {
                'tuned_setting': [2.0, 8.0],
                'per_profile': {},
                'oracle': {'chosen_settings': []},
                'alpha_sweep': {
                    'setting': [2.0, 8.0],
                    'test': [{'alpha': 0.0, 'map': 10.0}, {'alpha': 0.5, 'map': 9.5}],
                },
                'null_oracle': {
                    'copies_spread': spread,
                    'settings_spread': {**spread, 'pooled_map_std': 1.2},
                },
            }
        }
        record['policy_choices'] = {
            'policy': {
                'num_slices': 40,
                'most_common': 'identity',
                'share_off_most_common': 0.25,
                'by_profile': {
                    'clean': {'most_common': 'identity', 'share_of_most_common': 1.0},
                },
                'profile_information': 0.5,
            }
        }
        stats = {'mean': 0.1, 'std': 0.01, 'min': 0.05, 'max': 0.2}
        record['gated_parameters'] = {
            'learned_gated': {'alpha': stats, 'clip_limit': stats, 'grid_size': stats}
        }
        record['tta_timing'] = {'tta': {'seconds_per_image': 0.05}}
        record['gate_checks'] = {'learned_gated_checked': GATE_CHECK}
        runs_.append(record)
    text = benchmark_markdown({'runs': runs_})
    assert 'Per-image signal (mAP): per-image choice beats the best fixed setting here' in text
    assert 'Never hurts (gate as trained): yes' in text
    assert 'Never hurts (gate checked on val): no' in text
    assert (
        '| 1 | learned GLCAE with a blend gate checked on val | +0.67 [-0.41, +1.74] '
        '(219 slices) | closed |'
    ) in text
    assert '| setting policy (identity or a GLCAE setting per image) | 10.60 | 10.60 |' in text
    assert '| 0 | main | +2.00 | +0.50 | +3.00 | n/a | 0.40 / 1.20 |' in text
    assert '| 1 | main | (2, 8) | 10.00 | 9.50 |' in text
    assert (
        '| 0 | setting policy (identity or a GLCAE setting per image) | 25.0 % | identity '
        '| clean: identity (100 %) | 0.50 |' in text
    )
    assert '| 0 | learned GLCAE with a blend gate | 0.100 ± 0.010 (0.050–0.200) |' in text
    assert 'ms per test image: seed 0: detector alone + test-time augmentation 50.0' in text
    # Without the data, none of these tables.
    plain = benchmark_markdown({'runs': [bench_record(0, 6.0), bench_record(1, 6.5)]})
    for absent in ('null oracle', 'α = 0', 'most common', 'gated enhancer', 'Per-image'):
        assert absent not in plain
