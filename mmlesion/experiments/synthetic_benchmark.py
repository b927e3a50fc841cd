"""The synthetic benchmark: the main job over several seeds, and the enhancer ablations.

Every seed is a whole main job (:class:`~.demo.DemoPipeline`): its own synthetic data set,
detector and enhancer. The ablations (the paper's Table 4) retrain only the enhancer, one
changed field each, in front of the first seed's frozen detector. Results are collected in the
``docs/results/synthetic_benchmark.json`` format.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from . import runs
from .demo import DemoPipeline, DemoSettings
from .machine import machine_description

#: (name, config) of the demo-scale ablations of the paper's Table 4, and the reinforce objective.
ABLATIONS = (
    ('batch 4 (half)', 'configs/demo/ablations/enhancer_r18_synth_bs4.py'),
    ('4 FC layers', 'configs/demo/ablations/enhancer_r18_synth_fc4.py'),
    ('lr 5e-2 (5x)', 'configs/demo/ablations/enhancer_r18_synth_lr5e-2.py'),
    ('patience 1 (of 2)', 'configs/demo/ablations/enhancer_r18_synth_patience1.py'),
    ('reinforce objective', 'configs/demo/ablations/enhancer_r18_synth_reinforce.py'),
)
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

    def seed_settings(self, seed: int) -> DemoSettings:
        if seed == self.demo.seed:
            return self.demo
        return replace(
            self.demo,
            seed=seed,
            work_dir=f'{self.demo.work_dir}_seed{seed}',
            data_root=f'{self.demo.data_root}_seed{seed}',
        )


def _percent(metrics: dict[str, dict[str, float]], key: str) -> dict[str, float]:
    return {method: 100.0 * values[key] for method, values in metrics.items()}


def learned_parameter_stats(predictions_file: str | Path) -> dict:
    """Mean, standard deviation, min and max over the test slices of the clip limit and grid
    size the learned enhancer chose: how image-specific its choice is."""
    with open(predictions_file, 'rb') as f:
        predictions = pickle.load(f)
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
        'timings': report['timing'],
        'stage_seconds': report['stage_seconds'],
        'data': {
            'num_patients': settings.num_patients,
            'image_size': settings.image_size,
            'difficulty': settings.difficulty,
        },
    }
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
        trained = runs.train(config, str(run_dir), options, desc=name)
        metrics = runs.test(config, trained.best_checkpoint, str(run_dir), options, desc=name)
        row = {
            'ablation': name,
            'config': config,
            'seed': settings.seed,
            **{k: 100.0 * metrics[v] for k, v in KEPT_METRICS.items()},
            'train_seconds': trained.elapsed_s,
        }
        done.write_text(json.dumps(row, indent=2))
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
    out_file.write_text(json.dumps(result, indent=2))
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


#: Table labels of the compared pipelines.
METHOD_LABELS = {
    'identity': 'detector alone',
    'glcae_fixed': 'fixed GLCAE (2.0, 8)',
    'clahe_fixed': 'fixed CLAHE (2.0, 8)',
    'learned': 'learned GLCAE',
}


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def benchmark_markdown(result: dict) -> str:
    """The tables of docs/en/results.md from a ``synthetic_benchmark.json``: test mAP / AP50 /
    average FROC sensitivity of every pipeline per seed and their mean, the per-profile mAP,
    timings, and the ablations (in percent)."""
    runs_ = result['runs']
    seeds = [r['seed'] for r in runs_]
    lines = [
        '| method | ' + ' | '.join(f'mAP seed {s}' for s in seeds) + ' | mean mAP | mean AP50 '
        '| mean avg. sens. |',
        '|---|' + '---:|' * (len(seeds) + 3),
    ]
    for method, label in METHOD_LABELS.items():
        if not all(method in r['map'] for r in runs_):
            continue
        cells = [f'{r["map"][method]:.2f}' for r in runs_]
        cells += [
            f'{_mean([r[key][method] for r in runs_]):.2f}' for key in ('map', 'ap50', 'froc_avg')
        ]
        lines.append(f'| {label} | ' + ' | '.join(cells) + ' |')
    ordered = all(
        r['map']['learned'] > r['map']['glcae_fixed'] > r['map']['identity'] for r in runs_
    )
    lines += [
        '',
        f'learned > fixed GLCAE > detector alone on every seed: {"yes" if ordered else "no"}.',
    ]
    groups = list(next(iter(runs_[0]['map_by_profile'].values()), {}))
    if groups:
        lines += [
            '',
            '| test mAP by profile (mean over seeds) | '
            + ' | '.join(METHOD_LABELS[m] for m in METHOD_LABELS if m in runs_[0]['map_by_profile'])
            + ' |',
            '|---|' + '---:|' * len(runs_[0]['map_by_profile']),
        ]
        for group in groups:
            cells = [
                f'{_mean([r["map_by_profile"][m][group] for r in runs_]):.2f}'
                for m in METHOD_LABELS
                if m in runs_[0]['map_by_profile']
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
