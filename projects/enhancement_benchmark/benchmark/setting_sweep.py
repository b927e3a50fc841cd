"""One frozen detector behind many fixed enhancement settings, in one pass over a split.

A Runner per setting would rebuild the model and re-read every slice for each (clip, grid);
here the model and the dataloader are built once, and each batch, read once, is enhanced with
every setting in turn and passed through the frozen detector. What is kept per setting and slice
is the record :class:`~mmlesion.evaluation.DeepLesionMetric` keeps (ground truth and
predictions, original pixels) plus the slice's ``img_path`` and ``img_id``, so any selection of
slices and settings can be scored afterwards without touching the detector again.

Candidates besides the ``(clip, grid)`` settings:

- :data:`IDENTITY`, ``(0, 0)``: no enhancement, the detector alone (GLCAE has no clip limit 0);
- ``(clip, grid, alpha)``: the blend ``x + alpha·(E(x; clip, grid) − x)`` (:func:`blend`);
  ``alpha = 0`` is the identity, ``alpha = 1`` the setting itself.

Every batch can also be passed as nuisance copies (:mod:`.nuisance`): shifted (and dithered)
before the preprocessor, the predicted boxes shifted back; :func:`sweep_nuisance_copies`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

import torch
from tqdm import tqdm

from mmlesion.utils import load_config

from .nuisance import NO_NUISANCE, Nuisance, apply_nuisance, unshift_boxes

#: A fixed enhancement setting: (clip limit, grid size in tiles per side), or (clip limit, grid
#: size, blend alpha).
Setting = tuple[float, ...]
#: The candidate "no enhancement" (the detector alone).
IDENTITY: Setting = (0.0, 0.0)


def is_identity(setting: Setting) -> bool:
    """Whether ``setting`` leaves the image as it is: :data:`IDENTITY` or a blend with alpha 0."""
    return tuple(setting[:2]) == IDENTITY or (len(setting) == 3 and setting[2] == 0.0)


def setting_label(setting: Setting) -> str:
    """``'identity'``, ``'(2, 8)'`` or ``'(2, 8) alpha 0.25'``."""
    if tuple(setting) == IDENTITY:
        return 'identity'
    text = f'({setting[0]:g}, {setting[1]:g})'
    return text + (f' alpha {setting[2]:g}' if len(setting) == 3 else '')


@contextmanager
def configured(preprocessor, setting: Setting) -> Iterator[None]:
    """The preprocessor set to enhance with ``setting`` (fixed mode, identity or a blend
    ``x + alpha·(E(x) − x)`` through its ``fixed_alpha``) while the context lasts; restored
    after. ``alpha = 1`` is the plain setting, without a blend."""
    saved = {name: getattr(preprocessor, name) for name in ('mode', 'fixed_params', 'fixed_alpha')}
    if is_identity(setting):
        preprocessor.mode = 'identity'
    else:
        preprocessor.mode = 'fixed'
        preprocessor.fixed_params = (float(setting[0]), float(setting[1]))
        alpha = float(setting[2]) if len(setting) == 3 else 1.0
        preprocessor.fixed_alpha = None if alpha == 1.0 else alpha
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(preprocessor, name, value)


@contextmanager
def configured_window(preprocessor, setting: Setting) -> Iterator[None]:
    """A ``WindowDenoisePreprocessor`` (the CT-native family) set to its fixed mode at
    ``setting = (level offset in HU, width scale, denoising strength)`` while the context lasts;
    restored after. Pass it as ``configure`` of :func:`sweep_nuisance_copies` with
    ``method=None``."""
    saved = {name: getattr(preprocessor, name) for name in ('mode', 'fixed_params')}
    preprocessor.mode = 'fixed'
    preprocessor.fixed_params = tuple(float(v) for v in setting)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(preprocessor, name, value)


#: A context manager factory that sets a preprocessor to one candidate setting
#: (:func:`configured`, :func:`configured_window`).
Configure = Callable[[object, Setting], AbstractContextManager]


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

    def subset(self, settings: Sequence[Setting]) -> SweepResult:
        """The same sweep restricted to ``settings`` (in that order)."""
        missing = [s for s in settings if s not in self.records]
        if missing:
            raise KeyError(f'settings {missing} were not swept')
        records = {s: self.records[s] for s in settings}
        return SweepResult(list(settings), records, self.classes, self.split, self.seconds)


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
    method: str | None = 'glcae',
    desc: str = '',
    configure: Configure = configured,
) -> SweepResult:
    """Evaluate the frozen detector behind each fixed ``(clip, grid)`` of ``settings``.

    Args:
        config: a ``FrozenDetectorEnhancer`` config (e.g. a demo baseline); its preprocessor is
            switched to fixed mode and its regressor removed.
        detector_checkpoint: the trained detector (a bare detector checkpoint).
        settings: the ``(clip limit, grid size)`` values; also :data:`IDENTITY` and
            ``(clip, grid, alpha)`` blends (module docstring).
        cfg_options: overrides of the config (data root, seed, ...).
        split: the split of ``test_dataloader`` to evaluate.
        method: ``'glcae'`` or ``'clahe'``; ``None``: a preprocessor without that choice (the
            CT-native family, with ``configure=configured_window``).
        configure: sets the preprocessor to one setting while a batch passes
            (:func:`configured`: GLCAE/CLAHE settings, identity and blends).

    Returns:
        The per-slice records of every setting. The predictions equal those of
        ``tools/test.py`` on the same config with ``fixed_params`` set to the setting
        (tests/test_setting_sweep.py).
    """
    sweeps = sweep_nuisance_copies(
        config,
        detector_checkpoint,
        {NO_NUISANCE: settings},
        cfg_options,
        split,
        method,
        desc,
        configure,
    )
    return sweeps[NO_NUISANCE]


def sweep_nuisance_copies(
    config: str,
    detector_checkpoint: str,
    candidates: Mapping[Nuisance, Sequence[Setting]],
    cfg_options: Mapping | None = None,
    split: str = 'test',
    method: str | None = 'glcae',
    desc: str = '',
    configure: Configure = configured,
) -> dict[Nuisance, SweepResult]:
    """:func:`sweep_fixed_settings` over nuisance copies of every slice, in one data pass.

    Args:
        candidates: nuisance copy -> the settings to evaluate on that copy
            (:data:`~.nuisance.NO_NUISANCE` is the original slice).

    Returns:
        Per copy, the records of its settings; the boxes are in the original frame
        (:func:`~.nuisance.unshift_boxes`); ``seconds`` is the whole pass's wall time.
    """
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    from mmlesion.evaluation import DeepLesionMetric
    from mmlesion.utils import register_all_modules

    if not candidates or not all(candidates.values()):
        raise ValueError('sweep_nuisance_copies needs at least one setting for every copy')
    register_all_modules()
    options = {
        **dict(cfg_options or {}),
        'test_dataloader.dataset.split': split,
        'model.detector_checkpoint': detector_checkpoint,
        'model.data_preprocessor.mode': 'fixed',
        **({} if method is None else {'model.data_preprocessor.method': method}),
        'model.data_preprocessor.regressor': None,
    }
    cfg = load_config(config, options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    start = time.perf_counter()
    model = MODELS.build(cfg.model)
    model.eval()
    dataloader = Runner.build_dataloader(cfg.test_dataloader)
    classes = tuple(dataloader.dataset.metainfo['classes'])
    plan = {n: [tuple(float(v) for v in s) for s in settings] for n, settings in candidates.items()}
    records = {n: {s: [] for s in settings} for n, settings in plan.items()}
    preprocessor = model.data_preprocessor
    with torch.no_grad():
        for batch in tqdm(dataloader, desc=desc or f'sweep ({split})', disable=None):
            for nuisance, settings in plan.items():
                copy = batch
                if not nuisance.is_identity:
                    inputs = [
                        apply_nuisance(x, nuisance, s.img_path)
                        for x, s in zip(batch['inputs'], batch['data_samples'], strict=True)
                    ]
                    copy = {**batch, 'inputs': inputs}
                for setting in settings:
                    with configure(preprocessor, setting):
                        outputs = model.test_step(copy)
                    metric = DeepLesionMetric()
                    metric.process({}, outputs)
                    for record, sample in zip(metric.results, outputs, strict=True):
                        record['img_path'] = sample.img_path
                        record['img_id'] = sample.metainfo.get('img_id')
                        record['pred_bboxes'] = unshift_boxes(
                            record['pred_bboxes'],
                            nuisance,
                            sample.metainfo.get('scale_factor', (1.0, 1.0)),
                            sample.metainfo.get('ori_shape'),
                        )
                    records[nuisance][setting].extend(metric.results)
    seconds = time.perf_counter() - start
    return {
        n: SweepResult(list(settings), records[n], classes, split, seconds)
        for n, settings in plan.items()
    }
