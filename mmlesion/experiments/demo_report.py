"""The main job's report: comparison table (Markdown + JSON) and figures."""

from __future__ import annotations

import json
import math
import pickle
from pathlib import Path

import numpy as np

from .machine import machine_description
from .methods import METHODS

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
        return {p['img_path']: p for p in pickle.load(f)}


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


def write_report(work_dir, settings, data, detector, enhancer, evaluation) -> dict:
    """Write ``results.md``, ``results.json``, ``enhancer_curves.png`` and
    ``enhancement_examples.png`` into ``work_dir``; print the table; return the JSON."""
    from mmlesion.visualization import (
        plot_enhancement_grid,
        plot_enhancer_curves,
        read_epoch_curves,
    )

    work_dir = Path(work_dir)
    labels = {name: label for name, label, _ in METHODS}
    test_table = comparison_table(evaluation['test'], labels)
    by_profile = profile_table(evaluation.get('profiles', {}), labels)
    curves = read_epoch_curves(enhancer['log_dir'])
    baselines = {labels[n] + ' (val)': m['deeplesion/mAP'] for n, m in evaluation['val'].items()}
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
        'test': evaluation['test'],
        'test_by_profile': evaluation.get('profiles', {}),
        'val_baselines': evaluation['val'],
        'enhancer_curve': {
            'epoch': epochs,
            'map_delta': delta,
            'val_epoch': val_epochs,
            'val_mAP': val_map,
        },
        'timing': timing,
        'stage_seconds': {
            'data': data.get('elapsed_s'),
            'detector': detector.get('elapsed_s'),
            'enhancer': enhancer.get('elapsed_s'),
            'evaluation': evaluation.get('elapsed_s'),
        },
        'checkpoints': {'detector': detector['checkpoint'], 'enhancer': enhancer['checkpoint']},
    }
    (work_dir / 'results.json').write_text(json.dumps(results, indent=2))
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
    (work_dir / 'results.md').write_text(markdown)
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
