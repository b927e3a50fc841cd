"""The main job: synthetic data → detector → frozen detector + learned enhancer → comparison.

Every stage writes ``<work_dir>/<stage>/stage.json`` when it finishes; a re-run skips finished
stages unless ``force`` is set; a stage that runs again re-runs the stages that use its output
(:data:`DEPENDS`). A training stage that was interrupted (killed, machine restarted) goes on from
its last epoch checkpoint, unless ``force`` is set or a stage it reads ran again
(:class:`~.stages.StagedRun`).

``make demo`` runs the core stages (data, detector, enhancer, evaluation, statistics, report).
The benchmark also enables (:class:`DemoSettings` flags):

- ``noaug``: a second detector trained without ``RandomGLCAE`` (the paper's setting,
  ``configs/demo/faster_rcnn_r18-w32_fpn_48e_synth_noaug.py``) and the fixed methods in front of it
  (``identity_noaug``, ``glcae_fixed_noaug``, ``clahe_fixed_noaug``); with ``noaug_enhancer``
  also an enhancer trained in front of it (``learned_noaug``);
- ``baselines``: ``glcae_tuned``, ``glcae_per_profile`` and ``oracle`` in front of each detector
  (a validation grid search and a test sweep, :mod:`.fixed_setting_search`, :mod:`.oracle`);
  with ``selection`` also ``glcae_tuned_id``, ``glcae_per_profile_id``, ``oracle_id``, the alpha
  sweep, ``oracle_null`` and ``oracle_crossfit`` (:class:`~.baselines.SelectionOptions`);
- ``gated``: the enhancer with a blend gate (``gated_config``) trained in front of each
  detector and tested (``learned_gated``; ``enhancer_gated`` stage), then its gate decided on
  the validation split (:func:`mmlesion.apis.check_gate`: closed unless its paired-bootstrap
  mAP gain over the detector alone is above 0) and tested so (``learned_gated_checked``;
  ``gate_check`` stage);
- ``policy``: the setting policy (``policy_config``): the detector's per-slice loss tables over
  its K settings, the policy trained from them (:mod:`.policy_training`), tested, and its
  choices on the test slices (:mod:`.policy_report`) (``policy``; ``policy`` stage), and a
  second policy trained from the same tables on ``1 − `` each slice's own AP instead of the
  detector's loss (``policy_ap``; ``policy_ap`` stage);
- ``tta``: the detector alone under test-time augmentation (``tta``; ``tta`` stage), by
  ``benchmark/tta.py``'s ``evaluate_tta``.

Each of the last four (six stages) also runs in front of the detector without RandomGLCAE
when ``noaug`` is on (stages and methods ``*_noaug``).
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType

from tqdm import tqdm

from . import train_and_test
from .acquisition_profiles import metrics_by_profile
from .compared_methods import METHODS, NOAUG_SUFFIX
from .fixed_setting_search import SEARCH_CLIPS, SEARCH_GRIDS
from .inference_timing import time_inference
from .stages import StagedRun

#: The study's own configs, relative to the repository root.
PROJECT_CONFIGS = 'projects/enhancement_benchmark/configs'

#: Every stage, in run order; the optional ones run only when :class:`DemoSettings` enables them.
STAGES = (
    'data',
    'detector',
    'enhancer',
    'evaluation',
    'detector_noaug',
    'enhancer_noaug',
    'evaluation_noaug',
    'baselines',
    'baselines_noaug',
    'enhancer_gated',
    'enhancer_gated_noaug',
    'gate_check',
    'gate_check_noaug',
    'policy',
    'policy_noaug',
    'policy_ap',
    'policy_ap_noaug',
    'tta',
    'tta_noaug',
    'statistics',
    'report',
)
#: The optional stages that each test one more method in front of each detector (``*_noaug``:
#: in front of the detector without RandomGLCAE).
ONE_METHOD_STAGES = ('enhancer_gated', 'gate_check', 'policy', 'policy_ap', 'tta')
#: The stages whose outputs each stage reads: when one of them runs, so does the stage.
DEPENDS: dict[str, tuple[str, ...]] = {
    'data': (),
    'detector': ('data',),
    'enhancer': ('detector',),
    'evaluation': ('detector', 'enhancer'),
    'detector_noaug': ('data',),
    'enhancer_noaug': ('detector_noaug',),
    'evaluation_noaug': ('detector_noaug', 'enhancer_noaug'),
    'baselines': ('detector',),
    'baselines_noaug': ('detector_noaug',),
    **{stage: ('detector',) for stage in ONE_METHOD_STAGES},
    **{stage + NOAUG_SUFFIX: ('detector_noaug',) for stage in ONE_METHOD_STAGES},
    # The gate check reads the gated enhancer; the second policy, the first one's loss tables.
    'gate_check': ('detector', 'enhancer_gated'),
    'gate_check_noaug': ('detector_noaug', 'enhancer_gated_noaug'),
    'policy_ap': ('detector', 'policy'),
    'policy_ap_noaug': ('detector_noaug', 'policy_noaug'),
    'statistics': (
        'evaluation',
        'evaluation_noaug',
        'baselines',
        'baselines_noaug',
        *ONE_METHOD_STAGES,
        *(stage + NOAUG_SUFFIX for stage in ONE_METHOD_STAGES),
    ),
    'report': STAGES[:-1],
}


@dataclass
class DemoSettings:
    """What the main job runs; paths relative to the repository root."""

    work_dir: str = 'work_dirs/demo'
    data_root: str = 'data/synthetic_deeplesion'
    seed: int = 0
    num_patients: int = 600
    image_size: int = 256
    difficulty: float = 0.5
    force: bool = False
    detector_config: str = 'configs/demo/faster_rcnn_r18-w32_fpn_48e_synth.py'
    enhancer_config: str = 'configs/demo/enhancer_r18-w16_6e_synth.py'
    identity_config: str = 'configs/demo/baselines/identity_synth.py'
    glcae_fixed_config: str = 'configs/demo/baselines/glcae_fixed_synth.py'
    clahe_fixed_config: str = 'configs/demo/baselines/clahe_fixed_synth.py'
    detector_options: dict = field(default_factory=dict)
    enhancer_options: dict = field(default_factory=dict)
    num_examples: int = 6
    data_workers: int = 2
    # Optional stages (module docstring); the benchmark turns them on.
    noaug: bool = False
    noaug_enhancer: bool = False
    baselines: bool = False
    #: None: the preset has no detector without RandomGLCAE; the noaug stages are skipped.
    noaug_detector_config: str | None = 'configs/demo/faster_rcnn_r18-w32_fpn_48e_synth_noaug.py'
    search_clips: tuple[float, ...] = SEARCH_CLIPS
    search_grids: tuple[float, ...] = SEARCH_GRIDS
    per_profile_min_slices: int = 5
    bootstrap_resamples: int = 1000
    bootstrap_seed: int = 0
    #: The baselines stage's optional candidates and measurements (keys of
    #: :class:`~.baselines.SelectionOptions`); empty: the three baselines only.
    selection: dict = field(default_factory=dict)
    gated: bool = False
    policy: bool = False
    tta: bool = False
    #: None: the preset has no such config; the stage is skipped.
    gated_config: str | None = 'configs/demo/enhancer_r18-w16_6e_synth_gated.py'
    policy_config: str | None = f'{PROJECT_CONFIGS}/policy/enhancer_r18-w16_synth_policy.py'
    #: ``--cfg-options`` of the policy's loss tables, training and test (beside the data's).
    policy_options: dict = field(default_factory=dict)

    def enabled_stages(self) -> tuple[str, ...]:
        """The stages this configuration runs, in order."""
        skipped = set()
        if not self.noaug or self.noaug_detector_config is None:
            skipped |= {stage for stage in STAGES if stage.endswith(NOAUG_SUFFIX)}
        if not self.noaug_enhancer:
            skipped.add('enhancer_noaug')
        if not self.baselines:
            skipped |= {'baselines', 'baselines_noaug'}
        for stage, on in (
            ('enhancer_gated', self.gated and self.gated_config is not None),
            ('gate_check', self.gated and self.gated_config is not None),
            ('policy', self.policy and self.policy_config is not None),
            ('policy_ap', self.policy and self.policy_config is not None),
            ('tta', self.tta),
        ):
            if not on:
                skipped |= {stage, stage + NOAUG_SUFFIX}
        return tuple(stage for stage in STAGES if stage not in skipped)

    @classmethod
    def from_preset(cls, preset: str, **overrides) -> DemoSettings:
        """The settings of a :data:`PRESETS` entry, with ``overrides`` (None values ignored)."""
        if preset not in PRESETS:
            raise KeyError(f'unknown preset {preset!r}; choose one of {sorted(PRESETS)}')
        given = {k: v for k, v in overrides.items() if v is not None}
        return cls(**{**PRESETS[preset], **given})


#: Named config sets of the main job. ``demo``: the CPU demo (``make demo``). ``paper_gpu``: the
#: paper-size models (R50-FPN detector, ResNet-18 regressor at 512×512) for one GPU and a few
#: minutes, on synthetic data generated at 512×512; the gpu configs say what differs from the
#: paper's configs.
PRESETS: dict[str, dict] = {
    'demo': {},
    'paper_gpu': {
        'work_dir': 'work_dirs/paper_gpu',
        'data_root': 'data/synthetic_deeplesion_512',
        'image_size': 512,
        'detector_config': f'{PROJECT_CONFIGS}/gpu/faster_rcnn_r50_fpn_30e_synth512.py',
        'enhancer_config': f'{PROJECT_CONFIGS}/gpu/enhancer_r18_30e_synth512.py',
        'identity_config': f'{PROJECT_CONFIGS}/gpu/baselines/identity_synth512.py',
        'glcae_fixed_config': f'{PROJECT_CONFIGS}/gpu/baselines/glcae_fixed_synth512.py',
        'clahe_fixed_config': f'{PROJECT_CONFIGS}/gpu/baselines/clahe_fixed_synth512.py',
        'noaug_detector_config': None,  # not written for the GPU preset
        'gated_config': None,
        'policy_config': None,
        'data_workers': 16,
    },
}


class DemoPipeline(StagedRun):
    """Run (or resume) the main job described by :class:`DemoSettings`."""

    def __init__(self, settings: DemoSettings, log: Callable[[str], None] = print) -> None:
        super().__init__(settings.work_dir, DEPENDS, settings.force, log)
        self.settings = settings

    def _data_options(self) -> dict:
        return train_and_test.data_options(self.settings.data_root, self.settings.seed)

    # -- stages --------------------------------------------------------------------------------
    def run(self) -> dict:
        total_start = time.perf_counter()
        enabled = self.settings.enabled_stages()
        if 'tta' in enabled:
            tta_module()  # a missing module fails now, not after hours of training
        out: dict[str, dict] = {}
        out['data'] = self._stage('data', self.generate_data)
        out['detector'] = self._stage('detector', self.train_detector)
        detector = out['detector']['checkpoint']
        out['enhancer'] = self._stage('enhancer', lambda: self.train_enhancer(detector))
        enhancer = out['enhancer']['checkpoint']
        out['evaluation'] = self._stage('evaluation', lambda: self.evaluate(detector, enhancer))
        if 'detector_noaug' in enabled:
            out['detector_noaug'] = self._stage('detector_noaug', self.train_detector_noaug)
            noaug = out['detector_noaug']['checkpoint']
            noaug_enhancer = None
            if 'enhancer_noaug' in enabled:
                out['enhancer_noaug'] = self._stage(
                    'enhancer_noaug', lambda: self.train_enhancer(noaug, NOAUG_SUFFIX)
                )
                noaug_enhancer = out['enhancer_noaug']['checkpoint']
            out['evaluation_noaug'] = self._stage(
                'evaluation_noaug', lambda: self.evaluate_noaug(noaug, noaug_enhancer)
            )
        if 'baselines' in enabled:
            out['baselines'] = self._stage(
                'baselines', lambda: self.baselines(detector), self._selection()
            )
        if 'baselines_noaug' in enabled:
            out['baselines_noaug'] = self._stage(
                'baselines_noaug', lambda: self.baselines(noaug, NOAUG_SUFFIX), self._selection()
            )
        runs = {
            'enhancer_gated': self.train_gated,
            'gate_check': lambda checkpoint, suffix: self.check_gate(
                checkpoint, out['enhancer_gated' + suffix]['checkpoint'], suffix
            ),
            'policy': self.train_policy,
            'policy_ap': self.train_policy_ap,
            'tta': self.evaluate_tta,
        }
        for stage, run in runs.items():
            for suffix in ('', NOAUG_SUFFIX):
                if stage + suffix not in enabled:
                    continue
                checkpoint = out['detector' + suffix]['checkpoint']
                out[stage + suffix] = self._stage(
                    stage + suffix,
                    lambda run=run, checkpoint=checkpoint, suffix=suffix: run(checkpoint, suffix),
                )
        out['statistics'] = self._stage('statistics', lambda: self.statistics(out))
        report = self._stage('report', lambda: self.report(out))
        report['total_s'] = round(time.perf_counter() - total_start, 1)
        return report

    def generate_data(self) -> dict:
        from mmlesion.datasets.synthetic import SyntheticConfig

        s = self.settings
        config = SyntheticConfig(
            num_patients=s.num_patients,
            seed=s.seed,
            difficulty=s.difficulty,
            image_size=s.image_size,
        )
        summary = generate_with_progress(s.data_root, config, s.data_workers)
        self.log(summary.format())
        return {'data_root': s.data_root, 'config': asdict(config), 'summary': summary.format()}

    def train_detector(self, config: str | None = None, stage: str = 'detector') -> dict:
        s = self.settings
        return self._train(
            config or s.detector_config, stage, {**self._data_options(), **s.detector_options}
        )

    def train_detector_noaug(self) -> dict:
        """The same detector recipe trained without RandomGLCAE (the paper's detector)."""
        return self.train_detector(self.settings.noaug_detector_config, 'detector' + NOAUG_SUFFIX)

    def train_enhancer(self, detector_checkpoint: str, suffix: str = '') -> dict:
        s = self.settings
        options = {
            **self._data_options(),
            'model.detector_checkpoint': detector_checkpoint,
            **s.enhancer_options,
        }
        return self._train(s.enhancer_config, 'enhancer' + suffix, options)

    def _evaluate_methods(
        self,
        detector_checkpoint: str,
        enhancer_checkpoint: str | None,
        suffix: str = '',
        val_baselines: bool = True,
    ) -> dict:
        """Test metrics of every method of :data:`METHODS` in front of one detector (``learned``
        only with an enhancer), their predictions dumped for the later stages; the validation
        metrics of the fixed baselines when ``val_baselines``; the per-profile breakdown."""
        s = self.settings
        out_dir = self.work_dir / ('evaluation' + suffix)
        results: dict[str, dict] = {'test': {}, 'val': {}}
        dumps = {}
        for name, _, config_key in METHODS:
            if name == 'learned' and enhancer_checkpoint is None:
                continue
            config = getattr(s, config_key)
            checkpoint = enhancer_checkpoint if name == 'learned' else detector_checkpoint
            options = {**self._data_options(), **s.enhancer_options}
            if name != 'learned':
                options['model.data_preprocessor.regressor'] = None
            # Validation results of the baselines are the reference lines of the learning curve.
            fixed = name not in ('learned', 'clahe_fixed')
            splits = ('test', 'val') if fixed and val_baselines else ('test',)
            for split in splits:
                split_options = {**options, 'test_dataloader.dataset.split': split}
                dump = str(out_dir / f'predictions_{name}.pkl') if split == 'test' else None
                metrics = train_and_test.test(
                    config,
                    checkpoint,
                    str(out_dir / name),
                    split_options,
                    out=dump,
                    desc=f'{name}{suffix} ({split})',
                )
                results[split][name + suffix] = {k: float(v) for k, v in metrics.items()}
                if dump is not None:
                    dumps[name + suffix] = dump
        results['predictions'] = dumps
        results['profiles'] = metrics_by_profile(
            s.identity_config,
            {**self._data_options(), 'model.data_preprocessor.regressor': None},
            s.data_root,
            dumps,
        )
        return results

    def evaluate(self, detector_checkpoint: str, enhancer_checkpoint: str) -> dict:
        s = self.settings
        results = self._evaluate_methods(detector_checkpoint, enhancer_checkpoint)
        timing = time_inference(
            s.enhancer_config, enhancer_checkpoint, {**self._data_options(), **s.enhancer_options}
        )
        results['timing'] = timing.as_dict()
        return results

    def evaluate_noaug(self, detector_checkpoint: str, enhancer_checkpoint: str | None) -> dict:
        """The methods in front of the detector trained without RandomGLCAE (names ``*_noaug``)."""
        return self._evaluate_methods(
            detector_checkpoint, enhancer_checkpoint, NOAUG_SUFFIX, val_baselines=False
        )

    def _test_method(
        self, name: str, config: str, checkpoint: str, options: dict, stage: str
    ) -> dict:
        """One method's test metrics, its predictions dumped into ``<stage>/`` and its
        metrics by acquisition profile: a stage record's ``test``, ``predictions``,
        ``profiles``."""
        out_dir = self.work_dir / stage
        dump = str(out_dir / f'predictions_{name}.pkl')
        metrics = train_and_test.test(
            config, checkpoint, str(out_dir / 'test'), options, out=dump, desc=f'{name} (test)'
        )
        return self._method_record(name, metrics, dump)

    def _method_record(self, name: str, metrics: dict, dump: str) -> dict:
        """``test``, ``predictions`` and ``profiles`` of a stage that tested one method."""
        s = self.settings
        return {
            'test': {name: {k: float(v) for k, v in metrics.items()}},
            'predictions': {name: dump},
            'profiles': metrics_by_profile(
                s.identity_config,
                {**self._data_options(), 'model.data_preprocessor.regressor': None},
                s.data_root,
                {name: dump},
            ),
        }

    def train_gated(self, detector_checkpoint: str, suffix: str = '') -> dict:
        """The enhancer with a blend gate trained in front of one detector and tested
        (``learned_gated``)."""
        s = self.settings
        stage = 'enhancer_gated' + suffix
        options = {**self._data_options(), **s.enhancer_options}
        trained = self._train(
            s.gated_config, stage, {**options, 'model.detector_checkpoint': detector_checkpoint}
        )
        tested = self._test_method(
            'learned_gated' + suffix, s.gated_config, trained['checkpoint'], options, stage
        )
        return {**trained, **tested}

    def check_gate(self, detector_checkpoint: str, gated_checkpoint: str, suffix: str = '') -> dict:
        """The gated enhancer's gate decided on the validation split and the result tested
        (``learned_gated_checked``): the decision (``gate``) and the test record."""
        from mmlesion.apis.gate_check import check_gate

        s = self.settings
        stage = 'gate_check' + suffix
        work_dir = self.work_dir / stage
        options = {
            **self._data_options(),
            **s.enhancer_options,
            'model.detector_checkpoint': detector_checkpoint,
        }
        checkpoint = str(work_dir / 'gate_checked.pth')
        decision = check_gate(
            s.gated_config,
            gated_checkpoint,
            checkpoint,
            work_dir / 'val',
            options,
            num_resamples=s.bootstrap_resamples,
            seed=s.bootstrap_seed,
        )
        tested = self._test_method(
            'learned_gated_checked' + suffix, s.gated_config, checkpoint, options, stage
        )
        return {'checkpoint': checkpoint, 'gate': decision.as_dict(), **tested}

    def train_policy(self, detector_checkpoint: str, suffix: str = '') -> dict:
        """The setting policy of one detector, trained on the loss of its config (the
        detector's loss): loss tables, training, test (``policy``) and its choices on the test
        slices (``choices``, :func:`~.policy_report.policy_choice_report`).

        The loss tables in ``<stage>/`` are reused when the stage goes on after an
        interruption, and deleted when it starts over (``force``, a new detector).
        """
        if self._redo('policy' + suffix):
            for table in self._policy_tables(suffix).glob('loss_table_*.npz'):
                table.unlink()
        return self._policy_stage('policy', detector_checkpoint, suffix, loss=None)

    def train_policy_ap(self, detector_checkpoint: str, suffix: str = '') -> dict:
        """A second setting policy of one detector, trained from the ``policy`` stage's loss
        tables on ``1 −`` each slice's own AP (``policy_ap``): the metric the benchmark
        reports, where the detector's loss may rank the settings otherwise."""
        return self._policy_stage('policy_ap', detector_checkpoint, suffix, loss='slice_ap')

    def _policy_tables(self, suffix: str) -> Path:
        """The folder of the loss tables that both policies of one detector train from: the
        ``policy`` stage's."""
        return self.work_dir / ('policy' + suffix)

    def _policy_stage(
        self, name: str, detector_checkpoint: str, suffix: str, loss: str | None
    ) -> dict:
        """Train the policy ``name`` (its stage and method) on ``loss`` (None: the config's)
        from the loss tables in ``<work_dir>/policy<suffix>/`` (computed there if missing),
        test it and report its choices."""
        from mmlesion.utils.safe_pickle import load_predictions

        from .acquisition_profiles import acquisition_profiles
        from .policy_report import policy_choice_report
        from .policy_training import train_policy_from_config

        s = self.settings
        stage = name + suffix
        work_dir = self.work_dir / stage
        options = {**self._data_options(), **s.policy_options}
        summary = train_policy_from_config(
            s.policy_config,
            detector_checkpoint,
            work_dir,
            options,
            seed=s.seed,
            loss=loss,
            tables_dir=self._policy_tables(suffix),
        )
        checkpoint = str(work_dir / 'policy.pth')
        tested = self._test_method(
            stage,
            s.policy_config,
            checkpoint,
            {**options, 'model.detector_checkpoint': detector_checkpoint},
            stage,
        )
        with open(tested['predictions'][stage], 'rb') as f:
            predictions = load_predictions(f)
        return {
            'checkpoint': checkpoint,
            **tested,
            'choices': policy_choice_report(predictions, acquisition_profiles(s.data_root)),
            'training': {k: v for k, v in summary.items() if k != 'history'},
        }

    def evaluate_tta(self, detector_checkpoint: str, suffix: str = '') -> dict:
        """The detector alone under test-time augmentation (``tta``), by
        ``benchmark/tta.py``'s ``evaluate_tta`` (its ``metrics`` and its timing: seconds per
        image, views per slice)."""
        s = self.settings
        stage = 'tta' + suffix
        name = 'tta' + suffix
        out_dir = self.work_dir / stage
        dump = str(out_dir / f'predictions_{name}.pkl')
        result = tta_module().evaluate_tta(
            config=s.noaug_detector_config if suffix else s.detector_config,
            checkpoint=detector_checkpoint,
            data_root=s.data_root,
            work_dir=str(out_dir / 'test'),
            cfg_options=self._data_options(),
            out=dump,
            desc=name,
        )
        return {
            **self._method_record(name, result['metrics'], dump),
            'timing': {k: v for k, v in result.items() if k != 'metrics'},
        }

    def baselines(self, detector_checkpoint: str, suffix: str = '') -> dict:
        """``glcae_tuned``, ``glcae_per_profile`` and ``oracle`` in front of one detector."""
        from .baselines import SelectionOptions, fixed_setting_baselines

        s = self.settings
        return fixed_setting_baselines(
            config=s.glcae_fixed_config,
            detector_checkpoint=detector_checkpoint,
            cfg_options={**self._data_options(), **s.enhancer_options},
            data_root=s.data_root,
            out_dir=self.work_dir / ('baselines' + suffix),
            clips=s.search_clips,
            grids=s.search_grids,
            min_slices=s.per_profile_min_slices,
            suffix=suffix,
            options=SelectionOptions(**s.selection),
        )

    def _selection(self) -> dict:
        """The selection options as the stage marker keeps them (JSON: tuples as lists)."""
        return json.loads(json.dumps(self.settings.selection))

    def statistics(self, stages: dict[str, dict]) -> dict:
        """Paired bootstrap intervals and the learned parameters by acquisition profile."""
        from .seed_statistics import seed_statistics

        s = self.settings
        predictions = {}
        for stage in stages.values():
            predictions.update(stage.get('predictions', {}))
        for suffix in ('', NOAUG_SUFFIX):
            stage = stages.get('evaluation' + suffix)
            if stage is None or 'predictions' in stage:
                continue
            # An evaluation stage finished by an older version did not record its dumps.
            for name, _, _ in METHODS:
                path = self.work_dir / f'evaluation{suffix}' / f'predictions_{name}.pkl'
                if path.is_file():
                    predictions[name + suffix] = str(path)
        return seed_statistics(
            predictions,
            stages,
            config=s.identity_config,
            cfg_options={**self._data_options(), 'model.data_preprocessor.regressor': None},
            data_root=s.data_root,
            num_resamples=s.bootstrap_resamples,
            seed=s.bootstrap_seed,
        )

    def report(self, stages: dict[str, dict]) -> dict:
        from .demo_report import write_report

        return write_report(self.work_dir, self.settings, stages)


#: The module of the ``tta`` stage (written apart from this one).
TTA_MODULE = f'{__package__}.tta'


def generate_with_progress(data_root: str, config, workers: int):
    """:func:`~mmlesion.datasets.synthetic.generate_dataset` into ``data_root`` (replacing what
    is there) with a progress bar over the patients; returns its summary."""
    from mmlesion.datasets.synthetic import generate_dataset

    return generate_dataset(
        data_root,
        config,
        workers=workers,
        overwrite=True,
        progress=lambda it, total: tqdm(it, total=total, desc='data', unit='patient', disable=None),
    )


def tta_module() -> ModuleType:
    """``benchmark/tta.py``, imported when the ``tta`` stage runs.

    Raises:
        ModuleNotFoundError: this checkout has no such module.
    """
    try:
        return importlib.import_module(TTA_MODULE)
    except ModuleNotFoundError as error:
        if error.name != TTA_MODULE:
            raise
        raise ModuleNotFoundError(
            f'the tta stage needs {TTA_MODULE} (projects/enhancement_benchmark/benchmark/tta.py '
            'with evaluate_tta), which this checkout lacks: turn the stage off (run_demo.py '
            'without --tta, synthetic_benchmark.py --no-tta)',
            name=TTA_MODULE,
        ) from error
