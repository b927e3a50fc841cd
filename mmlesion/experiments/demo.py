"""The main job: synthetic data → detector → frozen detector + learned enhancer → comparison.

Every stage writes ``<work_dir>/<stage>/stage.json`` when it finishes; a re-run skips finished
stages unless ``force`` is set (a forced stage also re-runs every stage after it).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm import tqdm

from . import runs
from .inference_timing import time_inference
from .methods import METHODS
from .profile_breakdown import metrics_by_profile

STAGES = ('data', 'detector', 'enhancer', 'evaluation', 'report')


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
    detector_config: str = 'configs/demo/faster_rcnn_r18_synth.py'
    enhancer_config: str = 'configs/demo/enhancer_r18_synth.py'
    identity_config: str = 'configs/demo/baselines/identity_synth.py'
    glcae_fixed_config: str = 'configs/demo/baselines/glcae_fixed_synth.py'
    clahe_fixed_config: str = 'configs/demo/baselines/clahe_fixed_synth.py'
    detector_options: dict = field(default_factory=dict)
    enhancer_options: dict = field(default_factory=dict)
    num_examples: int = 6
    data_workers: int = 2

    @classmethod
    def from_preset(cls, preset: str, **overrides) -> DemoSettings:
        """The settings of a :data:`PRESETS` entry, with ``overrides`` (None values ignored)."""
        if preset not in PRESETS:
            raise KeyError(f'unknown preset {preset!r}; choose one of {sorted(PRESETS)}')
        given = {k: v for k, v in overrides.items() if v is not None}
        return cls(**{**PRESETS[preset], **given})


#: Named config sets of the main job. ``demo``: the CPU demo (``make demo``). ``paper_gpu``: the
#: paper-size models (R50-FPN detector, ResNet-18 regressor at 512×512) for one GPU and a few
#: minutes, on synthetic data generated at 512×512; configs/gpu/ says what differs from the
#: paper's configs.
PRESETS: dict[str, dict] = {
    'demo': {},
    'paper_gpu': {
        'work_dir': 'work_dirs/paper_gpu',
        'data_root': 'data/synthetic_deeplesion_512',
        'image_size': 512,
        'detector_config': 'configs/gpu/faster_rcnn_r50_fpn_synth_gpu.py',
        'enhancer_config': 'configs/gpu/enhancer_r18_synth_gpu.py',
        'identity_config': 'configs/gpu/baselines/identity_synth_gpu.py',
        'glcae_fixed_config': 'configs/gpu/baselines/glcae_fixed_synth_gpu.py',
        'clahe_fixed_config': 'configs/gpu/baselines/clahe_fixed_synth_gpu.py',
        'data_workers': 16,
    },
}


class DemoPipeline:
    """Run (or resume) the main job described by :class:`DemoSettings`."""

    def __init__(self, settings: DemoSettings, log: Callable[[str], None] = print) -> None:
        self.settings = settings
        self.work_dir = Path(settings.work_dir)
        self.log = log
        self._forced = False

    # -- stage bookkeeping ---------------------------------------------------------------------
    def _marker(self, stage: str) -> Path:
        return self.work_dir / stage / 'stage.json'

    def _done(self, stage: str) -> dict | None:
        if self.settings.force or self._forced:
            return None
        marker = self._marker(stage)
        return json.loads(marker.read_text()) if marker.is_file() else None

    def _finish(self, stage: str, record: dict) -> dict:
        marker = self._marker(stage)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps(record, indent=2))
        return record

    def _stage(self, stage: str, run: Callable[[], dict]) -> dict:
        done = self._done(stage)
        if done is not None:
            self.log(f'[{stage}] done before, skipped (--force re-runs it)')
            return done
        self._forced = True  # every later stage depends on this one's new output
        self.log(f'[{stage}] running')
        start = time.perf_counter()
        record = run()
        record['elapsed_s'] = round(time.perf_counter() - start, 1)
        self.log(f'[{stage}] finished in {record["elapsed_s"]:.0f} s')
        return self._finish(stage, record)

    def _data_options(self) -> dict:
        return runs.data_options(self.settings.data_root, self.settings.seed)

    # -- stages --------------------------------------------------------------------------------
    def run(self) -> dict:
        total_start = time.perf_counter()
        data = self._stage('data', self.generate_data)
        detector = self._stage('detector', self.train_detector)
        enhancer = self._stage('enhancer', lambda: self.train_enhancer(detector['checkpoint']))
        evaluation = self._stage(
            'evaluation',
            lambda: self.evaluate(detector['checkpoint'], enhancer['checkpoint']),
        )
        report = self._stage('report', lambda: self.report(data, detector, enhancer, evaluation))
        report['total_s'] = round(time.perf_counter() - total_start, 1)
        return report

    def generate_data(self) -> dict:
        from mmlesion.datasets.synthetic import SyntheticConfig, generate_dataset

        s = self.settings
        config = SyntheticConfig(
            num_patients=s.num_patients,
            seed=s.seed,
            difficulty=s.difficulty,
            image_size=s.image_size,
        )
        summary = generate_dataset(
            s.data_root,
            config,
            workers=s.data_workers,
            overwrite=True,
            progress=lambda it, total: tqdm(
                it, total=total, desc='data', unit='patient', disable=None
            ),
        )
        self.log(summary.format())
        return {'data_root': s.data_root, 'config': asdict(config), 'summary': summary.format()}

    def train_detector(self) -> dict:
        s = self.settings
        result = runs.train(
            s.detector_config,
            str(self.work_dir / 'detector'),
            {**self._data_options(), **s.detector_options},
            desc='detector',
        )
        return {'checkpoint': result.best_checkpoint, 'log_dir': result.log_dir}

    def train_enhancer(self, detector_checkpoint: str) -> dict:
        s = self.settings
        options = {
            **self._data_options(),
            'model.detector_checkpoint': detector_checkpoint,
            **s.enhancer_options,
        }
        result = runs.train(
            s.enhancer_config, str(self.work_dir / 'enhancer'), options, desc='enhancer'
        )
        return {'checkpoint': result.best_checkpoint, 'log_dir': result.log_dir}

    def evaluate(self, detector_checkpoint: str, enhancer_checkpoint: str) -> dict:
        s = self.settings
        out_dir = self.work_dir / 'evaluation'
        results: dict[str, dict] = {'test': {}, 'val': {}}
        for name, _, config_key in METHODS:
            config = getattr(s, config_key)
            checkpoint = enhancer_checkpoint if name == 'learned' else detector_checkpoint
            options = {**self._data_options(), **s.enhancer_options}
            if name != 'learned':
                options['model.data_preprocessor.regressor'] = None
            # Validation results of the baselines are the reference lines of the learning curve.
            splits = ('test',) if name in ('learned', 'clahe_fixed') else ('test', 'val')
            for split in splits:
                split_options = {**options, 'test_dataloader.dataset.split': split}
                dump = str(out_dir / f'predictions_{name}.pkl') if split == 'test' else None
                metrics = runs.test(
                    config,
                    checkpoint,
                    str(out_dir / name),
                    split_options,
                    out=dump,
                    desc=f'{name} ({split})',
                )
                results[split][name] = {k: float(v) for k, v in metrics.items()}
        results['profiles'] = metrics_by_profile(
            s.identity_config,
            {**self._data_options(), 'model.data_preprocessor.regressor': None},
            s.data_root,
            {name: out_dir / f'predictions_{name}.pkl' for name, _, _ in METHODS},
        )
        timing = time_inference(
            s.enhancer_config, enhancer_checkpoint, {**self._data_options(), **s.enhancer_options}
        )
        results['timing'] = timing.as_dict()
        return results

    def report(self, data: dict, detector: dict, enhancer: dict, evaluation: dict) -> dict:
        from .demo_report import write_report

        return write_report(self.work_dir, self.settings, data, detector, enhancer, evaluation)
