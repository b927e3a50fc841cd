"""The synthetic benchmark: the main job over several seeds, and the enhancer ablations.

Every seed is a whole main job (:class:`~.demo.DemoPipeline`): its own synthetic data set,
detector and enhancer; the benchmark also enables the main job's optional stages (a second
detector trained without RandomGLCAE with its own enhancer, and the validation-tuned baselines
and the oracle in front of both detectors). The ablations (the paper's Table 4) retrain only the
enhancer, one changed field each, in front of the first seed's frozen detector. Results are
collected in the ``docs/results/synthetic_benchmark.json`` format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from mmlesion.utils import atomic_write_json
from mmlesion.utils.safe_pickle import load_predictions

from . import train_and_test
from .baselines import ALPHAS
from .compared_methods import method_label, ordered_methods
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

    def seed_settings(self, seed: int) -> DemoSettings:
        stages = {
            'noaug': self.noaug,
            'noaug_enhancer': self.noaug and self.noaug_enhancer,
            'baselines': self.baselines,
            'selection': self.selection,
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
    size the learned enhancer chose: how image-specific its choice is."""
    with open(predictions_file, 'rb') as f:
        predictions = load_predictions(f)
    stats = {}
    for key, name in (('clahe_clip_limit', 'clip_limit'), ('clahe_grid_size', 'grid_size')):
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
        'bootstrap': report.get('bootstrap', {}),
        'baselines': report.get('baselines', {}),
        'timings': report['timing'],
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
    is replaced, every other earlier run kept (CPU seeds and GPU runs share one file); the
    ablations and machine of ``new`` replace the earlier ones only where ``new`` has them."""
    replaced = {_run_key(run) for run in new['runs']}
    kept = [run for run in old.get('runs', []) if _run_key(run) not in replaced]
    merged = {**old, 'runs': kept + new['runs']}
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


def _methods(runs_: list[dict]) -> list[str]:
    """The methods every run has, in table order."""
    common = set.intersection(*(set(r['map']) for r in runs_))
    return ordered_methods(common)


def benchmark_markdown(result: dict) -> str:
    """The tables of docs/en/results.md from a ``synthetic_benchmark.json``: test mAP / AP50 /
    average FROC sensitivity of every pipeline per seed and their mean, the bootstrap intervals
    and the reading they support, the baselines' chosen settings, the learned parameters
    (overall and by profile), the per-profile mAP, timings, and the ablations (in percent)."""
    runs_ = result['runs']
    seeds = [r['seed'] for r in runs_]
    lines = [
        '| method | ' + ' | '.join(f'mAP seed {s}' for s in seeds) + ' | mean mAP | mean AP50 '
        '| mean avg. sens. |',
        '|---|' + '---:|' * (len(seeds) + 3),
    ]
    for method in _methods(runs_):
        cells = [f'{r["map"][method]:.2f}' for r in runs_]
        cells += [
            f'{_mean([r[key][method] for r in runs_]):.2f}' for key in ('map', 'ap50', 'froc_avg')
        ]
        lines.append(f'| {method_label(method)} | ' + ' | '.join(cells) + ' |')
    ordered = all(
        r['map']['learned'] > r['map']['glcae_fixed'] > r['map']['identity'] for r in runs_
    )
    lines += [
        '',
        f'learned > fixed GLCAE > detector alone on every seed: {"yes" if ordered else "no"}.',
    ]
    pairs = [
        p for p in runs_[0].get('bootstrap', {}) if all(p in r.get('bootstrap', {}) for r in runs_)
    ]
    if pairs:
        b0 = runs_[0]['bootstrap'][pairs[0]]
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
