"""Configs: they load, inherit at most 3 levels deep, hold the paper's numbers, and ablations
change one field."""

import ast
from pathlib import Path

import pytest
from mmdet.registry import MODELS
from mmengine.config import Config

from mmlesion.utils import prepare_test_config, prepare_train_config, register_all_modules

register_all_modules()
REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIGS = REPO_ROOT / 'configs'
#: Every config file: the toolbox's and the projects' (``projects/<name>/configs``).
ALL_CONFIGS = sorted(
    [*CONFIGS.rglob('*.py'), *REPO_ROOT.glob('projects/*/configs/**/*.py')],
    key=lambda p: str(p.relative_to(REPO_ROOT)),
)
TOP_LEVEL = [p for p in ALL_CONFIGS if '_base_' not in p.parts]
#: Most ``_base_`` levels above a config (a leaf and up to 3 bases in its longest chain).
MAX_BASE_DEPTH = 3
TRANSFER = 'projects/enhancement_benchmark/configs/transfer'


def load(name: str) -> Config:
    """A config by its path under ``configs/``, or under the repository root."""
    path = CONFIGS / name
    return Config.fromfile(str(path if path.is_file() else REPO_ROOT / name))


def base_files(path: Path) -> list[Path]:
    """The files a config's ``_base_`` names (a string or a list), resolved next to it."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == '_base_' for target in node.targets
        ):
            value = ast.literal_eval(node.value)
            names = [value] if isinstance(value, str) else list(value)
            return [(path.parent / name).resolve() for name in names]
    return []


def base_depth(path: Path) -> int:
    """Levels of ``_base_`` above ``path``: 0 for a config without one."""
    bases = base_files(path)
    return 1 + max(base_depth(base) for base in bases) if bases else 0


def flatten(value, prefix=''):
    if isinstance(value, dict):
        items = {}
        for key, child in value.items():
            items.update(flatten(child, f'{prefix}{key}.'))
        return items
    return {prefix.rstrip('.'): value}


def differing_keys(parent: str, child: str) -> set[str]:
    a, b = flatten(load(parent).to_dict()), flatten(load(child).to_dict())
    return {k for k in a.keys() | b.keys() if a.get(k, '<absent>') != b.get(k, '<absent>')}


def config_id(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT))


@pytest.mark.parametrize('path', ALL_CONFIGS, ids=config_id)
def test_every_config_loads_and_inherits_at_most_3_levels(path):
    Config.fromfile(str(path))
    assert base_depth(path) <= MAX_BASE_DEPTH, f'{config_id(path)}: {base_depth(path)} levels'


def test_the_base_depth_follows_the_longest_chain():
    leaf = CONFIGS / 'demo' / 'baselines' / 'glcae_tuned_synth.py'
    assert base_depth(CONFIGS / '_base_' / 'default_runtime.py') == 0
    assert base_depth(leaf) == 1 + base_depth(base_files(leaf)[0])
    assert TOP_LEVEL and any('projects' in p.parts for p in TOP_LEVEL)


@pytest.mark.parametrize('path', TOP_LEVEL, ids=config_id)
def test_every_config_loads_and_its_model_builds_offline(path):
    cfg = Config.fromfile(str(path))
    assert cfg.default_scope == 'mmdet'
    assert 'mmlesion' in cfg.custom_imports.imports
    assert cfg.default_hooks.flush_denormals.type == 'FlushDenormalsHook'
    model_cfg = cfg.model
    preprocessor = model_cfg.get('data_preprocessor', {})
    if preprocessor.get('mode') == 'fixed' and preprocessor.get('fixed_params', ()) is None:
        preprocessor.fixed_params = (8.0, 12.0)  # given on the command line (glcae_tuned)
    detector = model_cfg.get('detector', model_cfg)
    detector.backbone.init_cfg = None  # what a user without internet does
    if 'detector' in model_cfg:
        model_cfg.detector_checkpoint = None
        with pytest.warns(UserWarning, match='RANDOM'):
            model = MODELS.build(model_cfg)
    else:
        model = MODELS.build(model_cfg)
    assert sum(p.numel() for p in model.parameters()) > 0


def test_detector_config_holds_the_papers_table_1():
    cfg = load('faster_rcnn_r50_fpn_deeplesion.py')
    assert cfg.model.type == 'FasterRCNN' and cfg.model.backbone.depth == 50
    assert cfg.model.neck.type == 'FPN'
    assert cfg.train_dataloader.batch_size == 26
    assert cfg.optim_wrapper.optimizer == {'type': 'Adam', 'lr': 1e-5, 'weight_decay': 1e-4}
    assert cfg.train_cfg.max_epochs == 100
    (stopper,) = [h for h in cfg.custom_hooks if h.type == 'EarlyStoppingHook']
    assert stopper.patience == 20 and stopper.monitor == 'deeplesion/mAP'
    assert stopper.rule == 'greater' and stopper.min_delta == 0.001
    assert cfg.default_hooks.checkpoint.save_best == 'deeplesion/mAP'
    assert cfg.auto_scale_lr.base_batch_size == 26
    assert cfg.model.rpn_head.anchor_generator.scales == [2, 4]
    assert cfg.model.backbone.init_cfg.checkpoint == 'torchvision://resnet50'
    assert cfg.train_dataloader.dataset.pipeline[0].num_slices == 3


def test_enhancer_config_holds_the_papers_table_2():
    cfg = load('enhancer_r18.py')
    assert cfg.model.type == 'FrozenDetectorEnhancer'
    assert cfg.model.data_preprocessor.type == 'AdaptiveCLAHEPreprocessor'
    assert cfg.model.data_preprocessor.regressor.depth == 18
    assert cfg.model.detector == load('faster_rcnn_r50_fpn_deeplesion.py').model
    assert cfg.train_dataloader.batch_size == 26
    assert cfg.optim_wrapper.optimizer == {'type': 'Adam', 'lr': 1.5e-5, 'weight_decay': 1e-2}
    assert cfg.train_cfg.max_epochs == 100
    assert [h.patience for h in cfg.custom_hooks if h.type == 'EarlyStoppingHook'] == [20]


@pytest.mark.parametrize(
    ('child', 'changed'),
    [
        ('enhancer_r18_bs13.py', {'train_dataloader.batch_size'}),
        ('enhancer_r18_fc4.py', {'model.data_preprocessor.regressor.num_fc_layers'}),
        ('enhancer_r18_lr1e-4.py', {'optim_wrapper.optimizer.lr'}),
        ('enhancer_r18_patience10.py', {'custom_hooks'}),
        ('enhancer_r18_reinforce.py', {'model.objective'}),
        ('enhancer_r18_gated.py', {'model.data_preprocessor.regressor.gate'}),
    ],
)
def test_ablation_differs_from_its_parent_in_exactly_the_named_field(child, changed):
    assert differing_keys('enhancer_r18.py', child) == changed


def test_the_gated_demo_enhancer_is_the_demo_enhancer_with_the_gate_on():
    assert differing_keys(
        'demo/enhancer_r18-w16_6e_synth.py', 'demo/enhancer_r18-w16_6e_synth_gated.py'
    ) == {'model.data_preprocessor.regressor.gate'}
    assert load('demo/enhancer_r18-w16_6e_synth_gated.py').model.data_preprocessor.regressor.gate


def test_the_window_denoise_demo_enhancer_swaps_only_the_preprocessor():
    changed = differing_keys(
        'demo/enhancer_r18-w16_6e_synth.py', 'demo/enhancer_r18-w16_6e_synth_window_denoise.py'
    )
    assert changed and all(k.startswith('model.data_preprocessor.') for k in changed)
    cfg = load('demo/enhancer_r18-w16_6e_synth_window_denoise.py')
    assert cfg.model.data_preprocessor.type == 'WindowDenoisePreprocessor'
    assert cfg.model.data_preprocessor.regressor.type == 'WindowDenoiseRegressor'
    assert cfg.model.detector_checkpoint is None  # a --cfg-option, as in the sibling


def test_patience_ablation_changes_only_the_patience():
    parent, child = (
        load('enhancer_r18.py').custom_hooks,
        load('enhancer_r18_patience10.py').custom_hooks,
    )
    assert [{**h, 'patience': 0} for h in parent] == [{**h, 'patience': 0} for h in child]
    assert [h.patience for h in child] == [10]


@pytest.mark.parametrize(
    ('name', 'mode', 'method'),
    [
        ('baselines/identity_deeplesion.py', 'identity', 'glcae'),
        ('baselines/glcae_fixed_deeplesion.py', 'fixed', 'glcae'),
        ('baselines/clahe_fixed_deeplesion.py', 'fixed', 'clahe'),
    ],
)
def test_baselines_use_the_same_frozen_detector(name, mode, method):
    cfg = load(name)
    assert cfg.model.detector == load('enhancer_r18.py').model.detector
    assert cfg.model.data_preprocessor.mode == mode
    assert cfg.model.data_preprocessor.method == method


def test_train_config_switches_amp_to_fp16_and_resume(tmp_path):
    cfg = prepare_train_config(
        str(CONFIGS / 'faster_rcnn_r50_fpn_deeplesion.py'),
        work_dir=str(tmp_path),
        amp=True,
        resume='auto',
        cfg_options={'train_dataloader.batch_size': 4},
    )
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper' and cfg.optim_wrapper.dtype == 'float16'
    assert cfg.resume is True and cfg.load_from is None
    assert cfg.train_dataloader.batch_size == 4 and cfg.work_dir == str(tmp_path)


def test_default_work_dir_is_named_after_the_config():
    cfg = prepare_train_config(str(CONFIGS / 'enhancer_r18_bs13.py'))
    assert cfg.work_dir == 'work_dirs/enhancer_r18_bs13'


def test_test_config_can_dump_predictions(tmp_path):
    cfg = prepare_test_config(
        str(CONFIGS / 'faster_rcnn_r50_fpn_deeplesion.py'), 'ckpt.pth', out=str(tmp_path / 'p.pkl')
    )
    assert cfg.load_from == 'ckpt.pth'
    assert [e['type'] for e in cfg.test_evaluator] == ['DeepLesionMetric', 'DumpDetResults']
    with pytest.raises(ValueError, match=r'\.pkl'):
        prepare_test_config(str(CONFIGS / 'faster_rcnn_r50_fpn_deeplesion.py'), 'c', out='p.json')


def validated_epochs(train_cfg: dict) -> list[int]:
    """Epochs after which mmengine's EpochBasedTrainLoop runs validation for ``train_cfg``.

    The loop is mmengine's own; the stub runner only counts epochs and records validations.
    """
    from unittest import mock

    from mmengine.runner import EpochBasedTrainLoop

    validated: list[int] = []
    runner = mock.MagicMock()
    args = {k: v for k, v in train_cfg.items() if k != 'type'}
    dataloader = mock.MagicMock()
    dataloader.__len__.return_value = 1
    loop = EpochBasedTrainLoop(runner, dataloader=dataloader, **args)
    runner.val_loop.run.side_effect = lambda: validated.append(loop.epoch)

    def one_epoch():
        loop._epoch += 1

    loop.run_epoch = one_epoch
    loop.run()
    return validated


def test_demo_detector_validates_from_epoch_8_and_shortened_runs_still_validate():
    train_cfg = load('demo/faster_rcnn_r18-w32_fpn_48e_synth.py').train_cfg.to_dict()
    assert validated_epochs(train_cfg) == [8, 16, 24, 28, *range(32, 49, 2)]
    # What run_demo's --detector-options '{"train_cfg.max_epochs": 2}' gives: a best checkpoint.
    assert validated_epochs({**train_cfg, 'max_epochs': 2}) == [2]
    assert validated_epochs({**train_cfg, 'max_epochs': 1}) == [1]


def test_the_transfer_retinanet_keeps_the_schedule_its_measured_checkpoint_was_trained_on():
    # Whatever the demo default becomes, the transfer study's RetinaNet stays on 36 epochs.
    cfg = load(f'{TRANSFER}/retinanet_r18-w32_fpn_36e_synth.py')
    assert validated_epochs(cfg.train_cfg.to_dict()) == [8, 16, 24, 28, 32, 34, 36]
    assert cfg.param_scheduler[1].T_max == cfg.param_scheduler[1].end == 36


def test_demo_enhancer_validates_every_epoch():
    assert validated_epochs(load('demo/enhancer_r18-w16_6e_synth.py').train_cfg.to_dict()) == list(
        range(1, 7)
    )


def test_the_transfer_config_decodes_the_demo_enhancer_as_trained():
    # The transferred regressor's weights only mean what they meant in training with the same
    # output ranges and squash.
    demo = load('demo/enhancer_r18-w16_6e_synth.py').model.data_preprocessor.regressor
    transfer = load(
        f'{TRANSFER}/enhancer_r18-w16_6e_synth_on_retinanet.py'
    ).model.data_preprocessor.regressor
    assert transfer == demo
    assert demo.log_outputs and tuple(demo.clip_range) == (1.0, 32.0)


def test_the_noaug_detector_is_the_demo_detector_without_random_glcae():
    # Whatever the main demo detector's input and training become, the detector of the paper's
    # setting differs from it by the RandomGLCAE augmentation alone.
    main = load('demo/faster_rcnn_r18-w32_fpn_48e_synth.py')
    noaug = load('demo/faster_rcnn_r18-w32_fpn_48e_synth_noaug.py')
    main_pipeline = main.train_dataloader.dataset.pipeline
    assert any(step.type == 'RandomGLCAE' for step in main_pipeline)
    without = [step for step in main_pipeline if step.type != 'RandomGLCAE']
    assert noaug.train_dataloader.dataset.pipeline == without
    assert differing_keys(
        'demo/faster_rcnn_r18-w32_fpn_48e_synth.py',
        'demo/faster_rcnn_r18-w32_fpn_48e_synth_noaug.py',
    ) == {'train_dataloader.dataset.pipeline', 'detector_train_pipeline'}


def test_the_real_data_local_contrast_config_changes_only_the_window_step():
    # The demo detector's input for real DeepLesion users: the same pipelines as the
    # multi-window config, the lung window's channel replaced by the local contrast.
    multi = load('faster_rcnn_r50_fpn_deeplesion_multiwindow.py')
    local = load('faster_rcnn_r50_fpn_deeplesion_local_contrast.py')
    for split in ('train', 'val', 'test'):
        before = multi[f'{split}_dataloader'].dataset.pipeline
        after = local[f'{split}_dataloader'].dataset.pipeline
        assert len(before) == len(after), split
        changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
        assert changed == [1], split
        assert after[1].type == 'LocalContrastWindow'
        assert [tuple(w) for w in after[1].windows] == [(-160, 240), (-1024, 3071)]
