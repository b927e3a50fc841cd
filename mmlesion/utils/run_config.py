"""Turning a config file plus command-line choices into the config a Runner is built from.

``tools/train.py`` and ``tools/test.py`` are thin shells over these functions.
"""

from __future__ import annotations

import os.path as osp

from mmengine.config import Config, ConfigDict

#: The dataloaders a config may hold, each with a ``dataset``.
DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
#: Hooks that only make sense while training; tools/test.py leaves them out, so that testing
#: needs nothing of the training data (EarlyStoppingHook's before_run builds the train loader).
TRAINING_ONLY_HOOKS = ('EarlyStoppingHook',)
#: ``--tta``'s views when the config has no ``tta_pipeline``: each slice as it is and mirrored
#: left to right (a body's axial slice is nearly symmetric that way), each also moved by
#: ``(shift_x, shift_y)`` pixels. Odd shifts, so that no FPN level's grid (strides 4 to 64)
#: stays aligned with the content.
TTA_FLIPS = (False, True)
TTA_SHIFTS_PX = ((0, 0), (3, 3), (-3, -3))


def load_config(config_path: str, cfg_options: dict | None = None) -> Config:
    """Read ``config_path`` and merge ``--cfg-options`` style overrides into it."""
    cfg = Config.fromfile(config_path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def _datasets(dataset: dict):
    """``dataset`` and every dataset it wraps (``dataset=``, ``datasets=[...]``)."""
    yield dataset
    if isinstance(dataset.get('dataset'), dict):
        yield from _datasets(dataset['dataset'])
    for inner in dataset.get('datasets', []) or []:
        yield from _datasets(inner)


def set_data_root(cfg: Config, data_root: str) -> None:
    """Point the dataset of every dataloader (and the datasets they wrap) at ``data_root``,
    one DeepLesion-format folder (``DL_info.csv`` + ``Images_png/``): ``--data-root``."""
    if not osp.isdir(data_root):
        raise FileNotFoundError(f'--data-root: no such folder: {data_root}')
    root = osp.join(data_root, '')
    for name in DATALOADERS:
        loader = cfg.get(name)
        if loader is None or loader.get('dataset') is None:
            continue
        for dataset in _datasets(loader.dataset):
            if 'data_root' in dataset or 'ann_file' in dataset:
                dataset.data_root = root


def drop_training_hooks(cfg: Config) -> None:
    """Leave out :data:`TRAINING_ONLY_HOOKS` from ``custom_hooks`` (for testing)."""
    hooks = cfg.get('custom_hooks') or []
    cfg.custom_hooks = [h for h in hooks if h.get('type') not in TRAINING_ONLY_HOOKS]


def default_work_dir(config_path: str) -> str:
    """``work_dirs/<config file name without .py>``, mmdet's convention."""
    return osp.join('work_dirs', osp.splitext(osp.basename(config_path))[0])


def enable_fp16(cfg: Config) -> None:
    """Switch the optimizer wrapper to fp16 automatic mixed precision.

    fp16, not bf16: mmcv 2.1's CUDA ``roi_align`` has no bfloat16 kernel.
    """
    optim_type = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if optim_type == 'AmpOptimWrapper':
        return
    if optim_type != 'OptimWrapper':
        raise ValueError(f'--amp needs optim_wrapper.type OptimWrapper, got {optim_type!r}')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.loss_scale = 'dynamic'
    cfg.optim_wrapper.dtype = 'float16'


def prepare_train_config(
    config_path: str,
    work_dir: str | None = None,
    cfg_options: dict | None = None,
    amp: bool = False,
    auto_scale_lr: bool = False,
    resume: str | None = None,
    launcher: str = 'none',
    data_root: str | None = None,
) -> Config:
    """The training config after the command-line choices of ``tools/train.py``.

    Args:
        data_root: one DeepLesion-format folder for every dataloader (``--data-root``).
        resume: ``'auto'`` resumes from the latest checkpoint in the work dir, a path resumes
            from that checkpoint (weights, optimizer state, epoch), ``None`` starts afresh.
    """
    cfg = load_config(config_path, cfg_options)
    cfg.launcher = launcher
    cfg.work_dir = work_dir or cfg.get('work_dir') or default_work_dir(config_path)
    if data_root is not None:
        set_data_root(cfg, data_root)
    if amp:
        enable_fp16(cfg)
    if auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise ValueError(f'{config_path} has no auto_scale_lr.base_batch_size to scale from')
        cfg.auto_scale_lr.enable = True
    if resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif resume is not None:
        cfg.resume = True
        cfg.load_from = resume
    if resume is not None:
        # Names the file when it lacks what Runner.resume reads (meta.epoch, meta.iter).
        checked = {'type': 'ResumeCheckHook', 'checkpoint': cfg.load_from}
        cfg.custom_hooks = [*(cfg.get('custom_hooks') or []), checked]
    return cfg


def check_detector_checkpoint(cfg: Config, config_path: str) -> None:
    """Refuse to start an enhancer training without the frozen detector's weights, before any
    data is read (``tools/train.py``; the model refuses too, when it is put in training mode:
    this says it sooner).

    Raises:
        ValueError: a ``FrozenDetectorEnhancer`` config without ``model.detector_checkpoint``,
            not resuming or loading a whole checkpoint, and without ``allow_random_detector``.
    """
    model = cfg.model
    if model.get('type') != 'FrozenDetectorEnhancer' or model.get('allow_random_detector'):
        return
    if model.get('detector_checkpoint') is None and not (cfg.get('resume') or cfg.get('load_from')):
        raise ValueError(
            f'{config_path}: model.detector_checkpoint is not set, so the enhancer would train in '
            'front of a detector with RANDOM weights. Give the trained detector: --cfg-options '
            'model.detector_checkpoint=work_dirs/<detector>/best_deeplesion_mAP_epoch_N.pth'
        )


def _test_cfg_nms(model: dict) -> dict | None:
    """The final NMS of a detector config's ``test_cfg`` (``rcnn`` for two-stage detectors),
    with its ``max_per_img``; of the frozen detector in an enhancer config."""
    detector = model.get('detector') or model
    test_cfg = detector.get('test_cfg') or {}
    final = test_cfg.get('rcnn', test_cfg)
    if 'nms' not in final:
        return None
    return {'nms': dict(final['nms']), 'max_per_img': final.get('max_per_img', 100)}


def default_tta_model(model: dict, config_path: str) -> dict:
    """``ShiftFlipTTAModel`` merging the views with the detector's own test NMS, so that a
    single view gives the detector's detections."""
    tta_cfg = _test_cfg_nms(model)
    if tta_cfg is None:
        raise ValueError(
            f'{config_path}: --tta found no nms in model.test_cfg (nor model.test_cfg.rcnn) to '
            "merge the views with; set tta_model = dict(type='ShiftFlipTTAModel', "
            'tta_cfg=dict(nms=..., max_per_img=...)) in the config'
        )
    return {'type': 'ShiftFlipTTAModel', 'tta_cfg': tta_cfg}


def _pack_default_meta_keys() -> tuple[str, ...]:
    """The meta keys mmdet's ``PackDetInputs`` keeps when a config names none."""
    import inspect

    from mmdet.datasets.transforms import PackDetInputs

    return inspect.signature(PackDetInputs).parameters['meta_keys'].default


def default_tta_pipeline(
    test_pipeline: list[dict],
    config_path: str,
    flips: tuple[bool, ...] = TTA_FLIPS,
    shifts_px: tuple[tuple[int, int], ...] = TTA_SHIFTS_PX,
) -> list[dict]:
    """The test pipeline with its final ``PackDetInputs`` replaced by mmcv's ``TestTimeAug``
    over every ``flips`` × ``shifts_px`` view (flip first, then ``FixedShift``), each packed
    with ``shift_px`` added to the meta keys. The slice as it is comes first.
    """
    pack = dict(test_pipeline[-1]) if test_pipeline else {}
    if pack.get('type') != 'PackDetInputs':
        raise ValueError(
            f'{config_path}: --tta needs a test pipeline ending with PackDetInputs, got '
            f'{pack.get("type")!r}; or set tta_pipeline in the config'
        )
    meta_keys = tuple(pack.get('meta_keys', _pack_default_meta_keys()))
    pack['meta_keys'] = (*meta_keys, 'shift_px') if 'shift_px' not in meta_keys else meta_keys
    flip_views = [
        {'type': 'RandomFlip', 'prob': 1.0 if flip else 0.0, 'direction': 'horizontal'}
        for flip in flips
    ]
    shift_views = [{'type': 'FixedShift', 'shift_x': x, 'shift_y': y} for x, y in shifts_px]
    views = {'type': 'TestTimeAug', 'transforms': [flip_views, shift_views, [pack]]}
    return [*(dict(step) for step in test_pipeline[:-1]), views]


def apply_tta(cfg: Config, config_path: str) -> None:
    """Test with test-time augmentation, as mmdet's ``tools/test.py --tta``: the model becomes
    ``cfg.tta_model`` around it and the test dataset's pipeline ``cfg.tta_pipeline``; without
    them in the config, :func:`default_tta_model` and :func:`default_tta_pipeline`."""
    tta_model = cfg.get('tta_model') or default_tta_model(cfg.model, config_path)
    dataset = cfg.test_dataloader.dataset
    while isinstance(dataset.get('dataset'), dict):  # a wrapper (RepeatDataset...): the inner one
        dataset = dataset.dataset
    tta_pipeline = cfg.get('tta_pipeline') or default_tta_pipeline(dataset.pipeline, config_path)
    cfg.model = ConfigDict(**tta_model, module=cfg.model)
    dataset.pipeline = tta_pipeline


def prepare_test_config(
    config_path: str,
    checkpoint: str,
    work_dir: str | None = None,
    cfg_options: dict | None = None,
    out: str | None = None,
    launcher: str = 'none',
    data_root: str | None = None,
    tta: bool = False,
) -> Config:
    """The test config after the command-line choices of ``tools/test.py``.

    Training-only hooks are left out (:func:`drop_training_hooks`): only the test data need
    exist.

    Args:
        out: also dump every prediction to this ``.pkl`` file (mmdet's ``DumpDetResults``).
        data_root: one DeepLesion-format folder for every dataloader (``--data-root``).
        tta: test with test-time augmentation (:func:`apply_tta`, ``--tta``).
    """
    cfg = load_config(config_path, cfg_options)
    cfg.launcher = launcher
    cfg.work_dir = work_dir or cfg.get('work_dir') or default_work_dir(config_path)
    if data_root is not None:
        set_data_root(cfg, data_root)
    drop_training_hooks(cfg)
    if tta:
        apply_tta(cfg, config_path)
    cfg.load_from = checkpoint
    if out is not None:
        if not out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out must end with .pkl or .pickle, got {out!r}')
        evaluators = cfg.test_evaluator
        evaluators = list(evaluators) if isinstance(evaluators, (list, tuple)) else [evaluators]
        evaluators.append({'type': 'DumpDetResults', 'out_file_path': out})
        cfg.test_evaluator = evaluators
    return cfg
