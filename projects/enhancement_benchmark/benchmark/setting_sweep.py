"""One frozen detector behind many fixed enhancement settings, in one pass over a split.

A Runner per setting would rebuild the model and re-read every slice for each (clip, grid);
here the model and the dataloader are built once, and each batch, read once, is enhanced with
every setting in turn and passed through the frozen detector. What is kept per setting and slice
is the record :class:`~mmlesion.evaluation.DeepLesionMetric` keeps (ground truth and
predictions, original pixels) plus the slice's ``img_path`` and ``img_id``, so any selection of
slices and settings can be scored afterwards without touching the detector again.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from tqdm import tqdm

from mmlesion.utils import load_config

#: A fixed enhancement setting: (clip limit, grid size in tiles per side).
Setting = tuple[float, float]


@dataclass
class SweepResult:
    """Per setting, the metric records of every slice of the split (in data order).

    Attributes:
        settings: the settings, in the order given.
        records: setting -> one record per slice (``DeepLesionMetric.process`` format, plus
            ``img_path`` and ``img_id``).
        classes: the dataset's classes.
        split: the evaluated split.
        seconds: wall time of the sweep.
    """

    settings: list[Setting]
    records: dict[Setting, list[dict]]
    classes: tuple[str, ...]
    split: str
    seconds: float

    @property
    def num_slices(self) -> int:
        return len(next(iter(self.records.values())))


def records_metrics(records: Sequence[dict], classes: Sequence[str]) -> dict[str, float]:
    """Every ``deeplesion/...`` metric of a list of slice records, as the Runner reports it."""
    from mmlesion.evaluation import DeepLesionMetric

    metric = DeepLesionMetric()
    metric.dataset_meta = {'classes': tuple(classes)}
    return {f'deeplesion/{k}': v for k, v in metric.compute_metrics(list(records)).items()}


def sweep_fixed_settings(
    config: str,
    detector_checkpoint: str,
    settings: Sequence[Setting],
    cfg_options: Mapping | None = None,
    split: str = 'test',
    method: str = 'glcae',
    desc: str = '',
) -> SweepResult:
    """Evaluate the frozen detector behind each fixed ``(clip, grid)`` of ``settings``.

    Args:
        config: a ``FrozenDetectorEnhancer`` config (e.g. a demo baseline); its preprocessor is
            switched to fixed mode and its regressor removed.
        detector_checkpoint: the trained detector (a bare detector checkpoint).
        settings: the ``(clip limit, grid size)`` values.
        cfg_options: overrides of the config (data root, seed, ...).
        split: the split of ``test_dataloader`` to evaluate.
        method: ``'glcae'`` or ``'clahe'``.

    Returns:
        The per-slice records of every setting. The predictions equal those of
        ``tools/test.py`` on the same config with ``fixed_params`` set to the setting
        (tests/test_setting_sweep.py).
    """
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    from mmlesion.evaluation import DeepLesionMetric
    from mmlesion.utils import register_all_modules

    if not settings:
        raise ValueError('sweep_fixed_settings needs at least one setting')
    register_all_modules()
    options = {
        **dict(cfg_options or {}),
        'test_dataloader.dataset.split': split,
        'model.detector_checkpoint': detector_checkpoint,
        'model.data_preprocessor.mode': 'fixed',
        'model.data_preprocessor.method': method,
        'model.data_preprocessor.regressor': None,
    }
    cfg = load_config(config, options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    start = time.perf_counter()
    model = MODELS.build(cfg.model)
    model.eval()
    dataloader = Runner.build_dataloader(cfg.test_dataloader)
    classes = tuple(dataloader.dataset.metainfo['classes'])
    settings = [(float(c), float(g)) for c, g in settings]
    records: dict[Setting, list[dict]] = {s: [] for s in settings}
    preprocessor = model.data_preprocessor
    with torch.no_grad():
        for batch in tqdm(dataloader, desc=desc or f'sweep ({split})', disable=None):
            for setting in settings:
                preprocessor.fixed_params = setting
                outputs = model.test_step(batch)
                metric = DeepLesionMetric()
                metric.process({}, outputs)
                for record, sample in zip(metric.results, outputs, strict=True):
                    record['img_path'] = sample.img_path
                    record['img_id'] = sample.metainfo.get('img_id')
                records[setting].extend(metric.results)
    return SweepResult(settings, records, classes, split, time.perf_counter() - start)
