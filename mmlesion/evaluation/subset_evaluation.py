"""DeepLesion metrics of dumped predictions on chosen subsets of a dataset's key slices.

``tools/test.py --out preds.pkl`` (mmdet's ``DumpDetResults``) keeps the predictions but drops
the ground truth. This puts the ground truth back from the dataset and scores any subset, e.g.
the synthetic slices of one acquisition profile, with the same :class:`DeepLesionMetric`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from .metrics import DeepLesionMetric


def _sample(prediction: dict, info: dict) -> dict:
    """A scored sample in the form ``DeepLesionMetric.process`` takes."""
    lesions = [inst for inst in info['instances'] if not inst['ignore_flag']]
    ignored = [inst for inst in info['instances'] if inst['ignore_flag']]

    def instances(items: list[dict]) -> dict:
        return {
            'bboxes': np.array([i['bbox'] for i in items], dtype=np.float64).reshape(-1, 4),
            'labels': np.array([i['bbox_label'] for i in items], dtype=np.int64),
        }

    return {
        'gt_instances': instances(lesions),
        'ignored_instances': instances(ignored),
        'pred_instances': prediction['pred_instances'],
        'lesion_types': info['lesion_types'],
        'lesion_diameters_mm': info['lesion_diameters_mm'],
        'spacing_mm': info['spacing_mm'],
        # The '3dce' and 'mulan' protocols check that no Possibly_noisy row is scored.
        'possibly_noisy': info.get('possibly_noisy'),
    }


def dataset_infos(
    config: str, cfg_options: Mapping | None = None, data_root: str | None = None
) -> tuple[list[dict], tuple[str, ...]]:
    """The items (``get_data_info``) and classes of ``config``'s test dataset.

    Args:
        config: a config file whose ``test_dataloader.dataset`` is the evaluated split.
        cfg_options: ``--cfg-options`` style overrides merged into it (data root, split, ...).
        data_root: one DeepLesion-format folder for every dataloader (``--data-root``,
            :func:`~mmlesion.utils.set_data_root`).

    Returns:
        ``(infos, classes)``: one dict per dataset item, in dataset order, and the class names.
    """
    from mmdet.registry import DATASETS
    from mmengine.registry import init_default_scope

    from mmlesion.utils import load_config, set_data_root

    cfg = load_config(config, dict(cfg_options) if cfg_options else None)
    if data_root is not None:
        set_data_root(cfg, data_root)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    return infos, tuple(dataset.metainfo['classes'])


def slice_records(predictions: Sequence[dict], data_infos: Iterable[dict]) -> list[dict]:
    """Per slice, the record :meth:`DeepLesionMetric.process` keeps (ground truth from the
    dataset, predictions from the dump) plus ``img_path`` and ``img_id``, in prediction order.

    Raises:
        KeyError: a prediction's ``img_path`` is not in ``data_infos``.
    """
    infos = {info['img_path']: info for info in data_infos}
    missing = [p['img_path'] for p in predictions if p['img_path'] not in infos]
    if missing:
        raise KeyError(f'{len(missing)} predictions have no dataset item, e.g. {missing[0]}')
    metric = DeepLesionMetric()
    metric.process({}, [_sample(p, infos[p['img_path']]) for p in predictions])
    for record, p in zip(metric.results, predictions, strict=True):
        record['img_path'] = p['img_path']
        record['img_id'] = infos[p['img_path']]['img_id']
    return metric.results


def evaluate_subsets(
    predictions: Sequence[dict],
    data_infos: Iterable[dict],
    subsets: Mapping[str, Iterable[str]],
    classes: Sequence[str] = ('lesion',),
    **metric_kwargs,
) -> dict[str, dict[str, float]]:
    """Score the predictions of each subset of key slices.

    Args:
        predictions: dumped data samples (each with ``img_path`` and ``pred_instances`` in the
            original pixels), e.g. loaded from ``tools/test.py --out``.
        data_infos: the dataset's items (``DeepLesionDataset.get_data_info``), matched to the
            predictions by ``img_path``.
        subsets: subset name -> ``img_id`` (``File_name``) of its key slices.
        classes: the dataset's classes.
        **metric_kwargs: :class:`DeepLesionMetric` arguments.

    Returns:
        ``{subset: {'deeplesion/...': value, 'num_images': n}}``; a subset without predictions
        is left out.
    """
    by_path = {p['img_path']: p for p in predictions}
    infos = {info['img_id']: info for info in data_infos if info['img_path'] in by_path}
    results = {}
    for name, ids in subsets.items():
        samples = [_sample(by_path[infos[i]['img_path']], infos[i]) for i in ids if i in infos]
        if not samples:
            continue
        metric = DeepLesionMetric(**metric_kwargs)
        metric.dataset_meta = {'classes': tuple(classes)}
        metric.process({}, samples)
        scores = metric.evaluate(len(samples))
        results[name] = {**scores, 'num_images': float(len(samples))}
    return results
