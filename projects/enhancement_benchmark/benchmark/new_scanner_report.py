"""The new-scanner study's records and results: a seed's record, the study's JSON with the
bootstrap pooled over the seeds, and the label-efficiency plot (the stages are in
:mod:`.new_scanner`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .machine_description import machine_description

if TYPE_CHECKING:
    from .new_scanner import NewScannerSettings

#: (method, reference) pairs bootstrapped over site B's test slices; the first four are the
#: issue's.
PAIRS = (
    ('enhancer', 'alone'),
    ('enhancer', 'tuned_fixed'),
    ('finetuned', 'alone'),
    ('enhancer', 'finetuned'),
    ('tuned_fixed', 'alone'),
    ('tta', 'alone'),
    ('oracle', 'alone'),
    ('oracle_null', 'alone'),
)
#: The metrics kept per method in a run, percent (keys of :func:`~.baselines.metric_row`).
KEPT = ('map', 'ap50', 'froc_avg')


def load_records(path: str | Path) -> list[dict]:
    """Per-slice records pickled by a stage (read without running code from the file)."""
    from mmlesion.utils.safe_pickle import load_predictions

    with open(path, 'rb') as f:
        return load_predictions(f)


def method_scorers(records: Mapping[str, str]) -> dict:
    """Method -> :class:`~mmlesion.evaluation.functional.WeightedSliceMetrics` of its test
    records (the files of a run's ``records``), the slices in one order."""
    from mmlesion.evaluation.functional import WeightedSliceMetrics
    from mmlesion.evaluation.paired_bootstrap import aligned_results

    aligned = aligned_results({name: load_records(path) for name, path in records.items()})
    return {name: WeightedSliceMetrics(r) for name, r in aligned.items()}


def seed_record(
    settings: NewScannerSettings, seed: int, stages: Mapping[str, dict], variant: str
) -> dict:
    """One seed's entry of the study's ``runs``: per method its site-B test ``froc_avg``,
    ``map`` and ``ap50`` (percent), the chosen variant and setting, the shift, the site-A check,
    the label-efficiency curve, training seconds, checksums and stage seconds."""
    methods: dict[str, dict] = {'alone': {'test': stages['shift']['site_b_test']}}
    records = {'alone': stages['shift']['records']['alone']}
    for stage in ('tuned_fixed', 'oracle'):
        for name, method in stages[stage]['methods'].items():
            methods[name] = method
            records[name] = method['records']
    learned = settings.learned_variants()
    for name in [*learned, 'finetuned', 'tta']:
        if name in stages:
            methods[name] = stages[name]
            records[name] = stages[name]['records']
    methods['enhancer'] = stages[variant]
    records['enhancer'] = stages[variant]['records']
    train_seconds = {
        name: stages[name]['train_seconds'] for name in [*learned, 'finetuned'] if name in stages
    }
    train_seconds['enhancer'] = stages[variant]['train_seconds']
    label_efficiency: dict[str, dict[str, float]] = {'enhancer': {}, 'finetuned': {}}
    label_map: dict[str, dict[str, float]] = {'enhancer': {}, 'finetuned': {}}
    label_seconds: dict[str, dict[str, float]] = {'enhancer': {}, 'finetuned': {}}
    for method in label_efficiency:
        for n in settings.label_sizes:
            stage = stages[f'label_efficiency/{method}_{n}']
            label_efficiency[method][str(n)] = stage['test']['froc_avg']
            label_map[method][str(n)] = stage['test']['map']
            label_seconds[method][str(n)] = stage['train_seconds']
        # The whole train split: the main runs.
        full = str(stages['data']['patients']['train'])
        label_efficiency[method][full] = methods[method]['test']['froc_avg']
        label_map[method][full] = methods[method]['test']['map']
        label_seconds[method][full] = train_seconds[method]
    shift = stages['shift']
    site_a = stages['site_a_check']
    checksums = {'site_a': shift['detector_checksum']}
    checksums.update({name: stages[name]['detector_checksum'] for name in [*learned, 'finetuned']})
    return {
        'seed': seed,
        'site_b_data': settings.site_b_root(seed),
        'patients': stages['data']['patients'],
        **{key: {m: v['test'][key] for m, v in methods.items()} for key in KEPT},
        'val_map': {m: v['val']['map'] for m, v in methods.items() if 'val' in v},
        'val_froc_avg': {m: v['val']['froc_avg'] for m, v in methods.items() if 'val' in v},
        'enhancer_variant': variant,
        'tuned_fixed_choice': {
            name: {k: stages['tuned_fixed']['methods'][name][k] for k in ('family', 'setting')}
            for name in stages['tuned_fixed']['methods']
        },
        'oracle_chosen_families': stages['oracle']['methods']['oracle']['chosen_families'],
        'shift': {
            'site_a_alone_froc_avg': shift['site_a_test']['froc_avg'],
            'site_b_alone_froc_avg': shift['site_b_test']['froc_avg'],
            'site_b_val_alone_froc_avg': shift['site_b_val']['froc_avg'],
            'drop_froc_avg': shift['drop']['froc_avg'],
            'drop_map': shift['drop']['map'],
        },
        'site_a_alone_froc_avg': site_a['site_a_alone']['froc_avg'],
        'site_a_enhancer_froc_avg': site_a['site_a_enhancer']['froc_avg'],
        'site_a_alone_map': site_a['site_a_alone']['map'],
        'site_a_enhancer_map': site_a['site_a_enhancer']['map'],
        'site_a_bootstrap': site_a['bootstrap'],
        'label_efficiency': label_efficiency,
        'label_efficiency_map': label_map,
        'label_efficiency_train_seconds': label_seconds,
        'train_seconds': train_seconds,
        'tta_seconds_per_image': stages['tta']['timing']['seconds_per_image']
        if 'tta' in stages
        else None,
        'detector_checksums': checksums,
        'stage_seconds': {
            name: stage.get('elapsed_s') for name, stage in stages.items() if name != 'report'
        },
        'records': records,
    }


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if len(values) else float('nan')


def study_result(settings: NewScannerSettings, runs: Sequence[dict], command: str) -> dict:
    """The study's JSON: the runs, the bootstrap pooled over them, the mean curves."""
    from mmlesion.evaluation.paired_bootstrap import pooled_paired_bootstrap

    scorers = [method_scorers(run['records']) for run in runs]
    pooled = {}
    for a, b in PAIRS:
        if all(a in s and b in s for s in scorers):
            pooled[f'{a}-{b}'] = pooled_paired_bootstrap(
                [(s[a], s[b]) for s in scorers],
                num_resamples=settings.bootstrap_resamples,
                seed=settings.bootstrap_seed,
            )
    sizes = sorted({n for run in runs for n in run['label_efficiency']['enhancer']}, key=int)
    return {
        'command': command,
        'machine': machine_description(),
        'detector_checkpoint': settings.detector_checkpoint,
        'site': settings.site,
        'data': {
            'num_patients': settings.num_patients,
            'image_size': settings.image_size,
            'difficulty': settings.difficulty,
            'site_a_data': settings.site_a_data,
        },
        'configs': {
            'learned': settings.learned_variants(),
            'finetuned': settings.finetune_config,
            'window': settings.window_config,
        },
        'runs': [{k: v for k, v in run.items() if k != 'records'} for run in runs],
        'bootstrap': pooled,
        'bootstrap_scope': (
            'top level: the mean over the runs of each pair difference, site-B test slices '
            'resampled within each run (pooled_paired_bootstrap); runs[i].bootstrap: that '
            "run's own paired bootstrap"
        ),
        'shift': {
            'site_a_alone_froc_avg': _mean([r['site_a_alone_froc_avg'] for r in runs]),
            'alone_froc_avg': _mean([r['froc_avg']['alone'] for r in runs]),
            'drop_froc_avg': _mean([r['shift']['drop_froc_avg'] for r in runs]),
        },
        'label_efficiency': {
            method: {
                n: _mean(
                    [
                        r['label_efficiency'][method][n]
                        for r in runs
                        if n in r['label_efficiency'][method]
                    ]
                )
                for n in sizes
            }
            for method in ('enhancer', 'finetuned')
        },
        'label_efficiency_alone_froc_avg': _mean([r['froc_avg']['alone'] for r in runs]),
        'train_seconds': {
            method: _mean([r['train_seconds'][method] for r in runs])
            for method in runs[0]['train_seconds']
        }
        if runs
        else {},
        'seconds_per_seed': _mean([sum(v or 0 for v in r['stage_seconds'].values()) for r in runs]),
    }


def plot_label_efficiency(result: dict, path: str | Path) -> Path:
    """FROC average sensitivity against labelled site-B patients: the enhancer and the fine-tuned
    detector (each run thin, the mean bold), the detector alone as a flat line."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    colours = {'enhancer': 'tab:blue', 'finetuned': 'tab:orange'}
    labels = {'enhancer': 'enhancer (frozen detector)', 'finetuned': 'fine-tuned detector'}
    for method, colour in colours.items():
        for run in result['runs']:
            curve = run['label_efficiency'][method]
            xs = sorted(curve, key=int)
            ax.plot([int(x) for x in xs], [curve[x] for x in xs], color=colour, alpha=0.3, lw=1)
        mean = result['label_efficiency'][method]
        xs = sorted(mean, key=int)
        ax.plot(
            [int(x) for x in xs], [mean[x] for x in xs], 'o-', color=colour, label=labels[method]
        )
    ax.axhline(
        result['label_efficiency_alone_froc_avg'],
        color='gray',
        ls='--',
        label='detector alone (site A weights)',
    )
    ax.set_xscale('log')
    sizes = sorted({int(n) for curve in result['label_efficiency'].values() for n in curve})
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.minorticks_off()
    ax.set_xlabel('labelled site-B patients (train split; the last point: all of it)')
    ax.set_ylabel('FROC average sensitivity, site-B test (%)')
    seeds = len(result['runs'])
    ax.set_title(f'New scanner: label efficiency ({seeds} seed{"s" if seeds > 1 else ""})')
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_path(out_file: str | Path) -> Path:
    """The plot beside the JSON: ``<stem>_label_efficiency.png``."""
    out_file = Path(out_file)
    return out_file.with_name(f'{out_file.stem}_label_efficiency.png')
