"""The main job's report: comparison table (Markdown + JSON) and figures."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from mmlesion.utils import atomic_write_json, atomic_write_text
from mmlesion.utils.safe_pickle import load_predictions

from .compared_methods import NOAUG_SUFFIX, method_label, ordered_methods
from .demo import ONE_METHOD_STAGES
from .machine_description import machine_description

#: (metric key without prefix, column title) of the comparison table, values in percent.
TABLE_COLUMNS = (
    ('mAP', 'mAP'),
    ('AP50', 'AP50'),
    ('sens@0.5', 'S@0.5'),
    ('sens@1', 'S@1'),
    ('sens@2', 'S@2'),
    ('sens@4', 'S@4'),
    ('sens@8', 'S@8'),
    ('sens@16', 'S@16'),
    ('avg_sens', 'avg S (0.5–4)'),
    ('liver_mAP', 'liver mAP'),
    ('liver_AP50', 'liver AP50'),
)


def percent(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return 'n/a'
    return f'{100 * value:.2f}'


def comparison_table(results: dict[str, dict[str, float]], labels: dict[str, str]) -> str:
    """Markdown table, one row per method, DeepLesion metrics in percent."""
    header = '| method | ' + ' | '.join(title for _, title in TABLE_COLUMNS) + ' |'
    rule = '|---|' + '---:|' * len(TABLE_COLUMNS)
    lines = [header, rule]
    for name, metrics in results.items():
        cells = [percent(metrics.get(f'deeplesion/{key}')) for key, _ in TABLE_COLUMNS]
        lines.append(f'| {labels.get(name, name)} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def profile_table(profiles: dict[str, dict[str, dict]], labels: dict[str, str]) -> str:
    """Markdown table of the test mAP (AP50) of every method per acquisition-profile group."""
    methods = list(profiles)
    groups = list(next(iter(profiles.values()), {}))
    if not groups:
        return ''
    header = '| slices | ' + ' | '.join(labels.get(m, m) for m in methods) + ' |'
    lines = [header, '|---|' + '---:|' * len(methods)]
    for group in groups:
        count = int(profiles[methods[0]][group]['num_images'])
        cells = [
            f'{percent(profiles[m][group].get("deeplesion/mAP"))} '
            f'({percent(profiles[m][group].get("deeplesion/AP50"))})'
            for m in methods
        ]
        lines.append(f'| {group} ({count}) | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def _load_predictions(path: Path) -> dict[str, dict]:
    with path.open('rb') as f:
        return {p['img_path']: p for p in load_predictions(f)}


def _example_panels(work_dir: Path, settings, limit: int):
    """One test slice per acquisition profile: original vs learned enhancement, with boxes."""
    import torch
    from mmdet.registry import DATASETS
    from mmengine.registry import init_default_scope

    from mmlesion.datasets.synthetic import SIDECAR_NAME, read_acquisition_sidecar
    from mmlesion.enhancement import glcae
    from mmlesion.utils import load_config
    from mmlesion.visualization import SlicePanel

    evaluation = work_dir / 'evaluation'
    identity = _load_predictions(evaluation / 'predictions_identity.pkl')
    learned = _load_predictions(evaluation / 'predictions_learned.pkl')
    cfg = load_config(settings.enhancer_config)
    init_default_scope('mmdet')
    dataset_cfg = cfg.test_dataloader.dataset
    dataset_cfg.data_root = settings.data_root
    dataset = DATASETS.build(dataset_cfg)
    sidecar_path = Path(settings.data_root) / SIDECAR_NAME
    profiles = read_acquisition_sidecar(sidecar_path) if sidecar_path.is_file() else {}

    chosen, seen = [], set()
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        profile = profiles[info['img_id']].profile if info['img_id'] in profiles else 'unknown'
        if profile not in seen:
            seen.add(profile)
            chosen.append(index)
        if len(chosen) == limit:
            break

    panels = []
    for index in chosen:
        item = dataset[index]
        key = item['data_samples'].img_path
        image = item['inputs'].float() / 255.0
        key_slice = image[image.shape[0] // 2]
        pred_l, pred_i = learned[key], identity[key]
        clip, grid = pred_l['clahe_clip_limit'], pred_l['clahe_grid_size']
        enhanced = glcae(image[None], torch.tensor([clip]), torch.tensor([grid]))[0]
        info = dataset.get_data_info(index)
        profile = profiles[info['img_id']].profile if info['img_id'] in profiles else ''

        def confident(pred):
            keep = pred['pred_instances']['scores'] >= 0.5
            return pred['pred_instances']['bboxes'][keep].numpy()

        panels.append(
            SlicePanel(
                title=f'{info["img_id"]} ({profile})',
                original=key_slice.numpy(),
                enhanced=enhanced[enhanced.shape[0] // 2].numpy(),
                gt_boxes=np.array([inst['bbox'] for inst in info['instances']]),
                boxes_original=confident(pred_i),
                boxes_enhanced=confident(pred_l),
                clip_limit=float(clip),
                grid_size=float(grid),
            )
        )
    return panels


#: The stages that test methods, each holding ``test`` and ``profiles`` by method name.
METHOD_STAGES = tuple(
    stage + suffix
    for suffix in ('', NOAUG_SUFFIX)
    for stage in ('evaluation', 'baselines', *ONE_METHOD_STAGES)
)


def _merged(stages: dict[str, dict], key: str) -> dict:
    """``stages[*][key]`` of the stages that test methods merged, in table order."""
    merged: dict = {}
    for stage in METHOD_STAGES:
        merged.update(stages.get(stage, {}).get(key, {}))
    return {name: merged[name] for name in ordered_methods(merged)}


def _by_method(stages: dict[str, dict], stage: str, key: str) -> dict:
    """``{method: stages[stage + suffix][key]}`` for both detectors, where the stage ran
    (the method a stage tests is its one ``test`` entry)."""
    out = {}
    for suffix in ('', NOAUG_SUFFIX):
        record = stages.get(stage + suffix)
        if record and key in record:
            (method,) = record['test']
            out[method] = record[key]
    return out


#: The baselines stage's outputs of its selection options (:mod:`.baselines`).
SELECTION_OUTPUTS = (
    'identity_val',
    'identity_test',
    'tuned_setting_id',
    'per_profile_id',
    'oracle_id',
    'alpha_sweep',
    'null_oracle',
    'crossfit',
)


def baseline_summary(stages: dict[str, dict]) -> dict:
    """Per detector (``''``, ``'_noaug'``): the validation search table, the tuned setting, the
    per-profile choices and the oracle's summary (empty without the baselines stages); with the
    stage's selection options also their outputs (identity rows, alpha sweep, null and cross-fit
    oracles)."""
    summary = {}
    for suffix in ('', '_noaug'):
        stage = stages.get('baselines' + suffix)
        if stage:
            summary['main' if not suffix else 'noaug'] = {
                key: stage[key]
                for key in (
                    'tuned_setting',
                    'per_profile',
                    'oracle',
                    'search_val',
                    'search_test',
                    'sweep_seconds',
                    *SELECTION_OUTPUTS,
                )
                if key in stage
            }
    return summary


def bootstrap_table(bootstrap: dict) -> str:
    """Markdown: each bootstrapped pair's point difference and 95 % interval, percent points."""
    if not bootstrap:
        return ''
    lines = ['| difference | mAP [95 % CI] | avg. sens. [95 % CI] |', '|---|---:|---:|']
    for pair, b in bootstrap.items():
        cells = [
            f'{b["point"][key]:+.2f} [{b[key][0]:+.2f}, {b[key][1]:+.2f}]'
            for key in ('map', 'froc_avg')
        ]
        lines.append(f'| {pair} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def gate_sentence(gate: dict) -> str:
    """A gate check's decision (:meth:`mmlesion.apis.GateDecision.as_dict`) in words."""
    from mmlesion.apis import GateDecision

    return GateDecision.from_dict(gate).describe()


def _policy_and_tta_lines(results: dict) -> list[str]:
    """Markdown lines on the setting policies' choices, the gate checks and the test-time
    augmentation's time (none when those stages did not run)."""
    from .policy_report import choice_summary

    lines = [
        f'{method_label(name)}: {choice_summary(choices)}.'
        for name, choices in results['policy_choices'].items()
    ]
    lines += [
        f'{method_label(name)}: {gate_sentence(gate)}.'
        for name, gate in results.get('gate_checks', {}).items()
    ]
    lines += [
        f'{method_label(name)}: {timing["seconds_per_image"] * 1000:.1f} ms/img.'
        for name, timing in results['tta_timing'].items()
        if 'seconds_per_image' in timing
    ]
    return [line for pair in zip(lines, [''] * len(lines), strict=True) for line in pair]


def write_report(work_dir, settings, stages: dict[str, dict]) -> dict:
    """Write ``results.md``, ``results.json``, ``enhancer_curves.png`` and
    ``enhancement_examples.png`` into ``work_dir``; print the table; return the JSON.

    Args:
        stages: the main job's stage records by stage name (those that ran).
    """
    from mmlesion.visualization import (
        plot_enhancement_grid,
        plot_enhancer_curves,
        read_epoch_curves,
    )

    work_dir = Path(work_dir)
    evaluation, enhancer = stages['evaluation'], stages['enhancer']
    statistics = stages.get('statistics', {})
    test = _merged(stages, 'test')
    profiles = _merged(stages, 'profiles')
    labels = {name: method_label(name) for name in test}
    test_table = comparison_table(test, labels)
    by_profile = profile_table(profiles, {name: method_label(name) for name in profiles})
    curves = read_epoch_curves(enhancer['log_dir'])
    baselines = {
        method_label(n) + ' (val)': m['deeplesion/mAP'] for n, m in evaluation['val'].items()
    }
    plot_enhancer_curves(curves, work_dir / 'enhancer_curves.png', baselines)
    plot_enhancement_grid(
        _example_panels(work_dir, settings, settings.num_examples),
        work_dir / 'enhancement_examples.png',
    )

    timing = evaluation['timing']
    epochs, delta = curves.train_series('map_delta')
    val_epochs, val_map = curves.val_series('deeplesion/mAP')
    results = {
        'machine': machine_description(),
        'settings': {k: v for k, v in vars(settings).items()},
        'test': test,
        'test_by_profile': profiles,
        'val_baselines': evaluation['val'],
        'enhancer_curve': {
            'epoch': epochs,
            'map_delta': delta,
            'val_epoch': val_epochs,
            'val_mAP': val_map,
        },
        'timing': timing,
        'baselines': baseline_summary(stages),
        'bootstrap': statistics.get('bootstrap', {}),
        'learned_parameters_by_profile': statistics.get('learned_parameters_by_profile', {}),
        'predictions': _merged(stages, 'predictions'),
        'policy_choices': {
            **_by_method(stages, 'policy', 'choices'),
            **_by_method(stages, 'policy_ap', 'choices'),
        },
        'policy_training': {
            **_by_method(stages, 'policy', 'training'),
            **_by_method(stages, 'policy_ap', 'training'),
        },
        'tta_timing': _by_method(stages, 'tta', 'timing'),
        'gate_checks': _by_method(stages, 'gate_check', 'gate'),
        'stage_seconds': {
            stage: record.get('elapsed_s') for stage, record in stages.items() if stage != 'report'
        },
        # Every stage that trained or wrote a model (detectors, enhancers, policies, gate checks).
        'checkpoints': {
            stage: record['checkpoint']
            for stage, record in stages.items()
            if 'checkpoint' in record
        },
    }
    atomic_write_json(work_dir / 'results.json', results, indent=2)
    markdown = '\n'.join(
        [
            '# mmlesion demo results (synthetic DeepLesion, test split)',
            '',
            f'Machine: {results["machine"]}. Seed {settings.seed}, {settings.num_patients} '
            f'patients at {settings.image_size} px, difficulty {settings.difficulty}.',
            '',
            'DeepLesion metrics in percent: COCO mAP@[.5:.95], AP50, FROC sensitivity at '
            '0.5–16 false positives per image (IoU ≥ 0.5), their mean over 0.5–4 FP, and the '
            'liver subset.',
            '',
            test_table,
            '',
            'Test mAP (AP50) in percent per acquisition profile of the key slices (a slice with '
            'several degradations counts in each of their rows):',
            '',
            by_profile,
            '',
            'Paired bootstrap over the test slices (percentage points, '
            f'{settings.bootstrap_resamples} resamples, seed {settings.bootstrap_seed}):',
            '',
            bootstrap_table(results['bootstrap']),
            '',
            *_policy_and_tta_lines(results),
            f'Inference ({timing["device"]}, batch {timing["batch_size"]}): detector alone '
            f'{timing["detector_img_per_s"]:.1f} img/s, with the learned enhancer '
            f'{timing["enhanced_img_per_s"]:.1f} img/s; enhancement '
            f'{timing["enhancement_ms"]:.1f} ms/img = {timing["overhead_pct"]:.1f} % of the '
            'detector-alone time.',
            '',
            '![enhancer training curves](enhancer_curves.png)',
            '',
            '![test slices before and after enhancement](enhancement_examples.png)',
            '',
        ]
    )
    atomic_write_text(work_dir / 'results.md', markdown)
    outputs = ('results.md', 'results.json', 'enhancer_curves.png', 'enhancement_examples.png')
    written = ', '.join(str(work_dir / name) for name in outputs)
    print(
        '\n'.join(
            [
                '',
                'Test split, DeepLesion metrics in percent:',
                test_table,
                '',
                'Test mAP (AP50) per acquisition profile:',
                by_profile,
                '',
                f'Enhancement overhead: {timing["enhancement_ms"]:.1f} ms/img, '
                f'{timing["overhead_pct"]:.1f} % of the detector-alone time ({timing["device"]}).',
                f'Written: {written}',
                '',
            ]
        )
    )
    return results
