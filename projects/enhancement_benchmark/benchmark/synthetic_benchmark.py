"""The synthetic benchmark: the main job over several seeds, and the enhancer ablations.

Every seed is a whole main job (:class:`~.demo.DemoPipeline`): its own synthetic data set,
detector and enhancer; the benchmark also enables the main job's optional stages (a second
detector trained without RandomGLCAE with its own enhancer; the validation-tuned baselines,
the oracles and the per-image-signal measurements; the gated enhancer, the setting policy and
test-time augmentation; each in front of both detectors). The ablations (the paper's Table 4)
retrain only the enhancer, one changed field each, in front of the first seed's frozen detector.
Results are collected in the ``docs/results/synthetic_benchmark.json`` format.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from mmlesion.utils import atomic_write_json
from mmlesion.utils.safe_pickle import load_predictions

from . import train_and_test
from .baselines import ALPHAS
from .compared_methods import NOAUG_SUFFIX, method_label, ordered_methods
from .demo import DemoPipeline, DemoSettings
from .machine_description import machine_description

#: The study's own configs, relative to the repository root.
PROJECT_CONFIGS = 'projects/enhancement_benchmark/configs'

#: (name, config) of the demo-scale ablations of the paper's Table 4, and the reinforce objective.
ABLATIONS = (
    ('batch 4 (half)', f'{PROJECT_CONFIGS}/ablations/enhancer_r18-w16_6e_synth_bs4.py'),
    ('4 FC layers', f'{PROJECT_CONFIGS}/ablations/enhancer_r18-w16_6e_synth_fc4.py'),
    ('lr 1.5e-2 (5x)', f'{PROJECT_CONFIGS}/ablations/enhancer_r18-w16_6e_synth_lr5x.py'),
    ('patience 1 (of 2)', f'{PROJECT_CONFIGS}/ablations/enhancer_r18-w16_6e_synth_patience1.py'),
    ('reinforce objective', f'{PROJECT_CONFIGS}/ablations/enhancer_r18-w16_6e_synth_reinforce.py'),
)
#: The benchmark's :class:`~.baselines.SelectionOptions`: identity among the candidates, the fixed
#: alpha sweep, a null oracle over the original and 7 copies shifted by up to 3 pixels, and the
#: cross-fit oracle on the copy shifted by (3, 3) pixels.
SELECTION = {
    'include_identity': True,
    'alphas': ALPHAS,
    'null_copies': 8,
    'null_max_shift': 3,
    'crossfit_shift': 3,
}
#: Test metrics kept per method, in percent.
KEPT_METRICS = {
    'map': 'deeplesion/mAP',
    'ap50': 'deeplesion/AP50',
    'froc_avg': 'deeplesion/avg_sens',
}


@dataclass
class BenchmarkSettings:
    """What the benchmark runs.

    The seed of ``demo`` (the main job's default, 0) runs in the main job's own folders, so
    that ``make demo`` is the benchmark's first seed and is reused; seed ``s`` runs in
    ``<demo.work_dir>_seed<s>`` on ``<demo.data_root>_seed<s>``. Ablations go to ``work_dir``.
    """

    work_dir: str = 'work_dirs/benchmark'
    seeds: tuple[int, ...] = (0, 1, 2)
    demo: DemoSettings = field(default_factory=DemoSettings)
    ablations: bool = True
    #: The main job's optional stages, on for every seed.
    noaug: bool = True
    noaug_enhancer: bool = True
    baselines: bool = True
    #: The baselines stage's per-image-signal measurements (issue 29), for every seed.
    selection: dict = field(default_factory=lambda: dict(SELECTION))
    gated: bool = True
    policy: bool = True
    tta: bool = True

    def seed_settings(self, seed: int) -> DemoSettings:
        stages = {
            'noaug': self.noaug,
            'noaug_enhancer': self.noaug and self.noaug_enhancer,
            'baselines': self.baselines,
            'selection': self.selection,
            'gated': self.gated,
            'policy': self.policy,
            'tta': self.tta,
        }
        if seed == self.demo.seed:
            return replace(self.demo, **stages)
        return replace(
            self.demo,
            seed=seed,
            work_dir=f'{self.demo.work_dir}_seed{seed}',
            data_root=f'{self.demo.data_root}_seed{seed}',
            **stages,
        )


def _percent(metrics: dict[str, dict[str, float]], key: str) -> dict[str, float]:
    return {method: 100.0 * values[key] for method, values in metrics.items()}


def learned_parameter_stats(predictions_file: str | Path) -> dict:
    """Mean, standard deviation, min and max over the test slices of the clip limit and grid
    size the learned enhancer chose, and with a blend gate its ``alpha`` (0: the slice left as
    it is, 1: fully enhanced): how image-specific its choice is."""
    with open(predictions_file, 'rb') as f:
        predictions = load_predictions(f)
    stats = {}
    keys = [('clahe_clip_limit', 'clip_limit'), ('clahe_grid_size', 'grid_size')]
    if predictions and predictions[0].get('clahe_alpha') is not None:
        keys.append(('clahe_alpha', 'alpha'))
    for key, name in keys:
        values = np.array([p[key] for p in predictions], dtype=np.float64)
        stats[name] = {
            'mean': float(values.mean()),
            'std': float(values.std()),
            'min': float(values.min()),
            'max': float(values.max()),
        }
    return stats


def seed_record(settings: DemoSettings, report: dict) -> dict:
    """One seed's entry of ``synthetic_benchmark.json`` from its main-job report."""
    test = report['test']
    predictions = Path(settings.work_dir) / 'evaluation' / 'predictions_learned.pkl'
    record = {
        'seed': settings.seed,
        'device': report['machine'],
        'detector_config': settings.detector_config,
        'enhancer_config': settings.enhancer_config,
        **{name: _percent(test, key) for name, key in KEPT_METRICS.items()},
        'liver_map': _percent(test, 'deeplesion/liver_mAP'),
        'map_by_profile': {
            method: {group: 100.0 * m['deeplesion/mAP'] for group, m in groups.items()}
            for method, groups in report.get('test_by_profile', {}).items()
        },
        'enhancer_curve': report['enhancer_curve'],
        'learned_parameters': (
            learned_parameter_stats(predictions) if predictions.is_file() else None
        ),
        'learned_parameters_by_profile': report.get('learned_parameters_by_profile', {}),
        'gated_parameters': {
            name: learned_parameter_stats(path)
            for name, path in report.get('predictions', {}).items()
            if name in ('learned_gated', 'learned_gated' + NOAUG_SUFFIX) and Path(path).is_file()
        },
        'policy_choices': report.get('policy_choices', {}),
        'bootstrap': report.get('bootstrap', {}),
        'baselines': report.get('baselines', {}),
        'timings': report['timing'],
        'tta_timing': report.get('tta_timing', {}),
        'gate_checks': report.get('gate_checks', {}),
        'stage_seconds': report['stage_seconds'],
        'data': {
            'num_patients': settings.num_patients,
            'image_size': settings.image_size,
            'difficulty': settings.difficulty,
        },
    }
    if 'detector_noaug' in settings.enabled_stages():
        record['noaug_detector_config'] = settings.noaug_detector_config
    return record


def run_ablations(settings: DemoSettings, detector_checkpoint: str, work_dir: Path) -> list[dict]:
    """Train and test each ablation's enhancer in front of ``detector_checkpoint``."""
    options = {
        **{
            f'{s}_dataloader.dataset.data_root': settings.data_root + '/'
            for s in ('train', 'val', 'test')
        },
        'randomness.seed': settings.seed,
        'model.detector_checkpoint': detector_checkpoint,
    }
    rows = []
    for name, config in ABLATIONS:
        run_dir = work_dir / Path(config).stem
        done = run_dir / 'ablation.json'
        if done.is_file():  # finished before: reuse, as the main job's stages
            rows.append(json.loads(done.read_text()))
            continue
        trained = train_and_test.train(config, str(run_dir), options, desc=name)
        metrics = train_and_test.test(
            config, trained.best_checkpoint, str(run_dir), options, desc=name
        )
        row = {
            'ablation': name,
            'config': config,
            'seed': settings.seed,
            **{k: 100.0 * metrics[v] for k, v in KEPT_METRICS.items()},
            'train_seconds': trained.elapsed_s,
        }
        atomic_write_json(done, row, indent=2)
        rows.append(row)
    return rows


def run_benchmark(settings: BenchmarkSettings, out_file: str | Path) -> dict:
    """Run every seed (finished stages are reused) and the ablations; write ``out_file``."""
    work_dir = Path(settings.work_dir)
    records, first = [], None
    for seed in settings.seeds:
        demo = settings.seed_settings(seed)
        report = DemoPipeline(demo).run()
        records.append(seed_record(demo, report))
        if first is None:
            first = (demo, report['checkpoints']['detector'])
    result = {'machine': machine_description(), 'runs': records}
    if settings.ablations and first is not None:
        result['ablations'] = run_ablations(first[0], first[1], work_dir / 'ablations')
    out_file = Path(out_file)
    if out_file.is_file():
        result = merge_results(json.loads(out_file.read_text()), result)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out_file, result, indent=2)
    return result


def _run_key(run: dict) -> tuple:
    return run['seed'], run['device'], run['detector_config'], run['enhancer_config']


def merge_results(old: dict, new: dict) -> dict:
    """``new`` added to an earlier benchmark file: a run of the same seed, device and configs
    is replaced in its place, every other earlier run kept (CPU seeds and GPU runs share one
    file) and the runs new to the file appended; the ablations and machine of ``new`` replace
    the earlier ones only where ``new`` has them."""
    newer = {_run_key(run): run for run in new['runs']}
    runs = [newer.pop(_run_key(run), run) for run in old.get('runs', [])]
    merged = {**old, 'runs': runs + list(newer.values())}
    if new.get('ablations'):
        merged['ablations'] = new['ablations']
        merged['machine'] = new['machine']
    merged.setdefault('machine', new['machine'])
    return merged


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _interval_side(interval: list[float]) -> str:
    """``'above'`` / ``'below'`` 0 or ``'overlaps'`` 0 of a ``[low, high]`` interval."""
    low, high = interval
    if low > 0:
        return 'above'
    if high < 0:
        return 'below'
    return 'overlaps'


def claim_reading(runs_: list[dict], metric: str = 'map', suffix: str = '') -> str:
    """Which claim the seeds' bootstrap intervals of ``learned - glcae_tuned`` (with the
    detector ``suffix``) support, from the numbers: per-image learned > tuned fixed (the
    interval above 0 on every seed), learned ≈ tuned fixed (the interval holds 0 on every seed:
    the regressor acts as a tuning device), or neither (the seeds disagree, or learned is below
    tuned fixed somewhere)."""
    pair = f'learned{suffix}-glcae_tuned{suffix}'
    intervals = [r.get('bootstrap', {}).get(pair, {}).get(metric) for r in runs_]
    if not intervals or any(i is None for i in intervals):
        return f'no {pair} interval on every seed: no reading'
    sides = [_interval_side(i) for i in intervals]
    seeds = ', '.join(f'seed {r["seed"]}: {side} 0' for r, side in zip(runs_, sides, strict=True))
    if all(side == 'above' for side in sides):
        verdict = 'per-image learned > tuned fixed (interval above 0 on every seed)'
    elif all(side == 'overlaps' for side in sides):
        verdict = 'learned ≈ tuned fixed: the regressor acts as a tuning device'
    else:
        verdict = (
            'neither: learned is not consistently above, nor consistently level with, tuned fixed'
        )
    return f'{verdict} ({seeds})'


#: Issue 29's "never hurts" target: the lower bound of every seed's ``learned_gated - identity``
#: mAP interval is at least this many percentage points.
NEVER_HURTS_MAP = -0.5
#: The gated enhancers the target is read for: (method, how its gate was set).
GATED_METHODS = (
    ('learned_gated', 'gate as trained'),
    ('learned_gated_checked', 'gate checked on val'),
)
#: The oracles whose margins over the detector alone measure the per-image signal: (method,
#: name in the reading).
SIGNAL_ORACLES = (
    ('oracle_null', 'null'),
    ('oracle_crossfit', 'cross-fit'),
    ('oracle', 'GLCAE oracle'),
)


def _interval_text(b: dict, metric: str) -> str:
    return f'{b["point"][metric]:+.2f} [{b[metric][0]:+.2f}, {b[metric][1]:+.2f}]'


def signal_margins(runs_: list[dict], metric: str = 'map', suffix: str = '') -> dict:
    """The mean over seeds of each :data:`SIGNAL_ORACLES` method's margin over the detector
    alone (``metric``, percentage points); ``None`` for one some seed lacks."""
    out = {}
    for method, name in SIGNAL_ORACLES:
        a, b = method + suffix, 'identity' + suffix
        have = all(a in r[metric] and b in r[metric] for r in runs_)
        out[name] = _mean([r[metric][a] - r[metric][b] for r in runs_]) if have else None
    return out


def per_image_reading(runs_: list[dict], metric: str = 'map', suffix: str = '') -> str:
    """Issue 29's answer on per-image signal, from the seeds' ``policy - glcae_tuned_id``
    intervals (with the detector ``suffix``).

    "Per-image choice beats the best fixed setting" when the interval lies above 0 on at least
    one seed and the point estimate is above 0 on at least two thirds of the seeds (2 of 3);
    otherwise the refutation with the measured margins over the detector alone of the null
    oracle, the cross-fit oracle and the GLCAE oracle (:func:`signal_margins`).
    """
    pair = f'policy{suffix}-glcae_tuned_id{suffix}'
    intervals = [r.get('bootstrap', {}).get(pair) for r in runs_]
    if not intervals or any(b is None for b in intervals):
        return f'no {pair} interval on every seed: no reading'
    seeds = '; '.join(
        f'seed {r["seed"]}: {_interval_text(b, metric)}'
        for r, b in zip(runs_, intervals, strict=True)
    )
    above = sum(b[metric][0] > 0 for b in intervals)
    positive = sum(b['point'][metric] > 0 for b in intervals)
    if above >= 1 and positive >= math.ceil(2 * len(runs_) / 3):
        return f'per-image choice beats the best fixed setting here ({pair}: {seeds})'
    margins = ', '.join(
        f'{name} {"n/a" if value is None else f"{value:+.2f}"}'
        for name, value in signal_margins(runs_, metric, suffix).items()
    )
    return (
        f'no per-image signal in this data: {margins} (points over the detector alone, mean '
        f'of the seeds; {pair}: {seeds})'
    )


def never_hurts_reading(runs_: list[dict], suffix: str = '', method: str = 'learned_gated') -> str:
    """Whether a gated enhancer (``method``, :data:`GATED_METHODS`) meets issue 29's "never
    hurts" target: the lower bound of its ``- identity`` mAP interval (with the detector
    ``suffix``) is at least :data:`NEVER_HURTS_MAP` on every seed."""
    pair = f'{method}{suffix}-identity{suffix}'
    intervals = [r.get('bootstrap', {}).get(pair) for r in runs_]
    if not intervals or any(b is None for b in intervals):
        return f'no {pair} interval on every seed: no reading'
    lows = [b['map'][0] for b in intervals]
    verdict = 'yes' if all(low >= NEVER_HURTS_MAP for low in lows) else 'no'
    seeds = ', '.join(f'seed {r["seed"]}: {low:+.2f}' for r, low in zip(runs_, lows, strict=True))
    return (
        f'{verdict}: lower bound of the {pair} mAP interval ≥ {NEVER_HURTS_MAP} on every '
        f'seed ({seeds})'
    )


def _detectors(runs_: list[dict], present) -> list[tuple[str, str, str]]:
    """(suffix, baselines summary key, label) of each detector for which ``present(run,
    suffix)`` holds on some run (a table then has a row for each run that has it)."""
    detectors = (('', 'main', 'main'), (NOAUG_SUFFIX, 'noaug', 'w/o RandomGLCAE'))
    return [d for d in detectors if any(present(r, d[0]) for r in runs_)]


def _signal_tables(runs_: list[dict]) -> list[str]:
    """Markdown of issue 29's measurements, each table where some run has its data (a row per
    run and detector that has it): the oracles' margins over the detector alone and the spreads,
    the alpha sweep, the policy's choices, the gated enhancer's alpha and the test-time
    augmentation's time."""
    lines: list[str] = []

    def oracles_ran(r, suffix):
        return any(m + suffix in r['map'] for m in ('oracle_null', 'oracle_crossfit'))

    detectors = _detectors(runs_, oracles_ran)
    if detectors:
        lines += [
            '',
            'Test mAP of the oracles minus the detector alone (percentage points): the null '
            'oracle chooses among shifted copies of the unenhanced slice (pure selection), the '
            "cross-fit oracle chooses each slice's setting on a shifted copy; spread: standard "
            'deviation of the pooled mAP over the null copies / over the settings.',
            '',
            '| seed | detector | null oracle | cross-fit | GLCAE oracle | GLCAE or identity '
            'oracle | spread copies / settings |',
            '|---:|---|---:|---:|---:|---:|---:|',
        ]
        for r in runs_:
            for suffix, key, label in detectors:
                if not oracles_ran(r, suffix):
                    continue
                cells = []
                for method in ('oracle_null', 'oracle_crossfit', 'oracle', 'oracle_id'):
                    value = r['map'].get(method + suffix)
                    base = r['map'].get('identity' + suffix)
                    cells.append('n/a' if None in (value, base) else f'{value - base:+.2f}')
                null = r.get('baselines', {}).get(key, {}).get('null_oracle')
                cells.append(
                    '{:.2f} / {:.2f}'.format(
                        null['copies_spread']['pooled_map_std'],
                        null['settings_spread']['pooled_map_std'],
                    )
                    if null
                    else 'n/a'
                )
                lines.append(f'| {r["seed"]} | {label} | ' + ' | '.join(cells) + ' |')

    def swept(r, suffix):
        return 'alpha_sweep' in r.get('baselines', {}).get('noaug' if suffix else 'main', {})

    detectors = _detectors(runs_, swept)
    if detectors:
        first = next(r for r in runs_ if swept(r, detectors[0][0]))
        alphas = [
            row['alpha'] for row in first['baselines'][detectors[0][1]]['alpha_sweep']['test']
        ]
        lines += [
            '',
            'Test mAP of the blend x + α·(GLCAE(x) − x) at the tuned setting (α = 0: the '
            'detector alone):',
            '',
            '| seed | detector | (clip, grid) | ' + ' | '.join(f'α = {a:g}' for a in alphas) + ' |',
            '|---:|---|---|' + '---:|' * len(alphas),
        ]
        for r in runs_:
            for suffix, key, label in detectors:
                if not swept(r, suffix):
                    continue
                sweep = r['baselines'][key]['alpha_sweep']
                by_alpha = {row['alpha']: row['map'] for row in sweep['test']}
                cells = [f'{by_alpha[a]:.2f}' if a in by_alpha else 'n/a' for a in alphas]
                setting = '({:g}, {:g})'.format(*sweep['setting'])
                lines.append(f'| {r["seed"]} | {label} | {setting} | ' + ' | '.join(cells) + ' |')
    if any(r.get('policy_choices') for r in runs_):
        lines += [
            '',
            '| seed | policy | test slices off its most common setting | most common '
            '| most common by profile (share) | profile information |',
            '|---:|---|---:|---|---|---:|',
        ]
        for r in runs_:
            for name, choices in r.get('policy_choices', {}).items():
                profiles = '; '.join(
                    f'{p}: {g["most_common"]} ({100 * g["share_of_most_common"]:.0f} %)'
                    for p, g in choices['by_profile'].items()
                )
                lines.append(
                    f'| {r["seed"]} | {method_label(name)} | '
                    f'{100 * choices["share_off_most_common"]:.1f} % | {choices["most_common"]} '
                    f'| {profiles} | {choices["profile_information"]:.2f} |'
                )
    if any(r.get('gated_parameters') for r in runs_):
        lines += ['', '| seed | gated enhancer | α on test slices | clip limit | grid size |']
        lines.append('|---:|---|---|---|---|')
        for r in runs_:
            for name, stats in r.get('gated_parameters', {}).items():
                cells = [
                    '{mean:.3f} ± {std:.3f} ({min:.3f}–{max:.3f})'.format(**stats[k])
                    if k in stats
                    else 'n/a'
                    for k in ('alpha', 'clip_limit', 'grid_size')
                ]
                lines.append(f'| {r["seed"]} | {method_label(name)} | ' + ' | '.join(cells) + ' |')
    if any(r.get('gate_checks') for r in runs_):
        lines += [
            '',
            '| seed | gate checked on val | enhancer − detector alone on val, mAP | gate |',
            '|---:|---|---|---|',
        ]
        for r in runs_:
            for name, gate in r.get('gate_checks', {}).items():
                low, high = gate['interval']
                lines.append(
                    f'| {r["seed"]} | {method_label(name)} | {gate["gain"]:+.2f} '
                    f'[{low:+.2f}, {high:+.2f}] ({gate["num_slices"]} slices) | '
                    f'{"open" if gate["open"] else "closed"} |'
                )
    if any(r.get('tta_timing') for r in runs_):
        times = '; '.join(
            f'seed {r["seed"]}: '
            + ', '.join(
                f'{method_label(name)} {1000 * t["seconds_per_image"]:.1f}'
                for name, t in r['tta_timing'].items()
                if 'seconds_per_image' in t
            )
            for r in runs_
            if r.get('tta_timing')
        )
        lines += ['', f'Test-time augmentation, ms per test image: {times}.']
    return lines


def _methods(runs_: list[dict]) -> list[str]:
    """The methods every run has, in table order."""
    common = set.intersection(*(set(r['map']) for r in runs_))
    return ordered_methods(common)


def _any_methods(runs_: list[dict]) -> list[str]:
    """The methods some run has, in table order (a benchmark whose seeds have not all run
    every stage yet)."""
    return ordered_methods(set.union(*(set(r['map']) for r in runs_)))


def benchmark_markdown(result: dict) -> str:
    """The tables of docs/en/results.md from a ``synthetic_benchmark.json``: test mAP / AP50 /
    average FROC sensitivity of every pipeline per seed and their mean (— where a seed has not
    run it, and then no mean), the bootstrap intervals and the reading they support, the
    baselines' chosen settings, the learned parameters (overall and by profile), the
    per-profile mAP, timings, and the ablations (in percent)."""
    runs_ = result['runs']
    seeds = [r['seed'] for r in runs_]
    lines = [
        '| method | ' + ' | '.join(f'mAP seed {s}' for s in seeds) + ' | mean mAP | mean AP50 '
        '| mean avg. sens. |',
        '|---|' + '---:|' * (len(seeds) + 3),
    ]
    for method in _any_methods(runs_):
        cells = [f'{r["map"][method]:.2f}' if method in r['map'] else '—' for r in runs_]
        everywhere = all(method in r['map'] for r in runs_)
        cells += [
            f'{_mean([r[key][method] for r in runs_]):.2f}' if everywhere else '—'
            for key in ('map', 'ap50', 'froc_avg')
        ]
        lines.append(f'| {method_label(method)} | ' + ' | '.join(cells) + ' |')
    ordered = all(
        r['map']['learned'] > r['map']['glcae_fixed'] > r['map']['identity'] for r in runs_
    )
    lines += [
        '',
        f'learned > fixed GLCAE > detector alone on every seed: {"yes" if ordered else "no"}.',
    ]
    pairs = list(dict.fromkeys(p for r in runs_ for p in r.get('bootstrap', {})))
    if pairs:
        b0 = next(r['bootstrap'][pairs[0]] for r in runs_ if pairs[0] in r.get('bootstrap', {}))
        lines += [
            '',
            f'Paired bootstrap over test slices ({b0["resamples"]} resamples, seed {b0["seed"]}), '
            'percentage points, point estimate [95 % interval]:',
            '',
            '| seed | difference | mAP | avg. sens. |',
            '|---:|---|---:|---:|',
        ]
        for r in runs_:
            for p in pairs:
                if p not in r.get('bootstrap', {}):
                    continue
                b = r['bootstrap'][p]
                cells = [
                    f'{b["point"][k]:+.2f} [{b[k][0]:+.2f}, {b[k][1]:+.2f}]'
                    for k in ('map', 'froc_avg')
                ]
                lines.append(f'| {r["seed"]} | {p} | ' + ' | '.join(cells) + ' |')
        lines.append('')
        for suffix, detector in (('', ''), ('_noaug', ', detector w/o RandomGLCAE')):
            if f'learned{suffix}-glcae_tuned{suffix}' in pairs:
                lines += [
                    f'Reading (mAP{detector}): {claim_reading(runs_, "map", suffix)}.',
                    f'Reading (avg. sens.{detector}): {claim_reading(runs_, "froc_avg", suffix)}.',
                ]
            if f'policy{suffix}-glcae_tuned_id{suffix}' in pairs:
                lines += [
                    f'Per-image signal (mAP{detector}): {per_image_reading(runs_, "map", suffix)}.',
                    f'Per-image signal (avg. sens.{detector}): '
                    f'{per_image_reading(runs_, "froc_avg", suffix)}.',
                ]
            for method, gate in GATED_METHODS:
                if f'{method}{suffix}-identity{suffix}' in pairs:
                    lines.append(
                        f'Never hurts ({gate}{detector}): '
                        f'{never_hurts_reading(runs_, suffix, method)}.'
                    )
    if all(r.get('baselines', {}).get('main') for r in runs_):
        lines += [
            '',
            '| seed | tuned on val (clip, grid) | per-profile choice (val) '
            '| oracle: settings used |',
            '|---:|---|---|---:|',
        ]
        for r in runs_:
            main = r['baselines']['main']
            tuned = '({:g}, {:g})'.format(*main['tuned_setting'])
            per_profile = '; '.join(
                '{}: ({:g}, {:g}){}'.format(
                    profile,
                    *choice['setting'],
                    '' if choice['chosen_on'] == 'profile' else ' (fallback)',
                )
                for profile, choice in main['per_profile'].items()
            )
            used = len(main['oracle']['chosen_settings'])
            lines.append(f'| {r["seed"]} | {tuned} | {per_profile} | {used} |')
    lines += _signal_tables(runs_)
    groups = list(next(iter(runs_[0]['map_by_profile'].values()), {}))
    profile_methods = [m for m in _methods(runs_) if m in runs_[0]['map_by_profile']]
    if groups and profile_methods:
        lines += [
            '',
            '| test mAP by profile (mean over seeds) | '
            + ' | '.join(method_label(m) for m in profile_methods)
            + ' |',
            '|---|' + '---:|' * len(profile_methods),
        ]
        for group in groups:
            cells = [
                f'{_mean([r["map_by_profile"][m][group] for r in runs_]):.2f}'
                for m in profile_methods
            ]
            lines.append(f'| {group} | ' + ' | '.join(cells) + ' |')
    lines += ['', '| seed | detector img/s | with enhancer img/s | enhancement ms/img | overhead |']
    lines.append('|---:|---:|---:|---:|---:|')
    for r in runs_:
        t = r['timings']
        lines.append(
            f'| {r["seed"]} | {t["detector_img_per_s"]:.1f} | {t["enhanced_img_per_s"]:.1f} | '
            f'{t["enhancement_ms"]:.1f} | {t["overhead_pct"]:.1f} % |'
        )
    if all(r.get('learned_parameters') for r in runs_):
        lines += ['', '| seed | learned clip limit on test slices | learned grid size |']
        lines.append('|---:|---|---|')
        for r in runs_:
            cells = [
                '{mean:.2f} ± {std:.2f} ({min:.2f}–{max:.2f})'.format(**r['learned_parameters'][k])
                for k in ('clip_limit', 'grid_size')
            ]
            lines.append(f'| {r["seed"]} | ' + ' | '.join(cells) + ' |')
    by_profile = [r.get('learned_parameters_by_profile', {}).get('learned') for r in runs_]
    if all(by_profile):
        lines += [
            '',
            '| seed | profile | slices | learned clip (mean ± std) | learned grid (mean ± std) |',
            '|---:|---|---:|---|---|',
        ]
        for r, spread in zip(runs_, by_profile, strict=True):
            for profile, g in spread['profiles'].items():
                lines.append(
                    f'| {r["seed"]} | {profile} | {g["num_slices"]} | '
                    f'{g["clip_limit"]["mean"]:.2f} ± {g["clip_limit"]["std"]:.2f} | '
                    f'{g["grid_size"]["mean"]:.2f} ± {g["grid_size"]["std"]:.2f} |'
                )
        shares = '; '.join(
            'seed {}: clip {:.2f}, grid {:.2f}'.format(
                r['seed'],
                spread['between_profile_share']['clip_limit'],
                spread['between_profile_share']['grid_size'],
            )
            for r, spread in zip(runs_, by_profile, strict=True)
        )
        lines += [
            '',
            "Share of the learned parameters' variance over test slices that lies between the "
            f'profile means (η²; 0 = the profile does not matter, 1 = a function of it): {shares}.',
        ]
    if result.get('ablations'):
        lines += ['', '| enhancer (seed 0) | mAP | AP50 | avg. sens. |', '|---|---:|---:|---:|']
        first = runs_[0]
        lines.append(
            f'| main config | {first["map"]["learned"]:.2f} | {first["ap50"]["learned"]:.2f} | '
            f'{first["froc_avg"]["learned"]:.2f} |'
        )
        for row in result['ablations']:
            lines.append(
                f'| {row["ablation"]} | {row["map"]:.2f} | {row["ap50"]:.2f} | '
                f'{row["froc_avg"]:.2f} |'
            )
    return '\n'.join(lines)
