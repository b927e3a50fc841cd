"""A frozen detector on a new scanner: what recovers the accuracy a change of site took away.

The site-A detector (``make demo``'s) is deployed unchanged on a second acquisition site (the
generator's site ``b``: a lower, per-patient dose and another reconstruction kernel). Every
method below sits in front of that SAME frozen detector, except the fine-tuned detector, the
alternative it is measured against. A *seed* is one site-B data draw (the generator's
``--seed``) and the seed of every training run on it.

Stages of a seed (``<work_dir>/seed<S>/<stage>/stage.json`` each, :class:`~.stages.StagedRun`;
a finished stage is skipped on a re-run unless ``force``):

- ``data``: generate site B (``num_patients`` patients, split 70/15/15 by patient);
- ``shift``: the detector alone on site A's test split and on site B's validation and test
  splits (``alone``): the accuracy the new site costs;
- ``tuned_fixed``: every fixed candidate on site B's validation split, then its test split:
  identity, the GLCAE and CLAHE grids of the demo's search, and the CT-native window/denoise
  grid (:data:`WINDOW_LEVELS_HU` × :data:`WINDOW_WIDTH_SCALES` × :data:`WINDOW_DENOISE`) when
  that family is on. Per family the best on validation (mAP, then FROC; identity included and
  first, so it wins a tie: :func:`~.fixed_setting_search.best_row`), ``glcae_tuned``,
  ``clahe_tuned``, ``window_tuned``; ``tuned_fixed`` is the best of all candidates on
  validation, its family recorded;
- ``oracle``: each test slice's best candidate of ``tuned_fixed``'s (identity included), an
  upper bound (:mod:`.oracle`); ``oracle_null``: the same choice among shifted copies of the
  unenhanced slice (:func:`~.oracle.null_oracle`), the part of the ceiling that is selection
  on the detector's noise;
- ``learned_paper``, ``learned_gated``, ``learned_window``: the enhancers (the paper's GLCAE
  regressor, with a blend gate, the CT-native family) trained on site B's train split, each
  with its training seconds; ``enhancer`` is the one with the best site-B validation metric
  (mAP, then FROC), never chosen on test;
- ``finetuned``: the detector itself fine-tuned on site B's train split from the site-A weights
  (all of them; ``configs/new_scanner/``), its best epoch on site B's validation split;
- ``tta``: the frozen detector under test-time augmentation, with its time per image;
- ``label_efficiency/{enhancer,finetuned}_<n>``: the best enhancer variant and fine-tuning on
  nested, seeded patient-level subsets of site B's train split (:func:`nested_patient_subsets`);
  a subset smaller than a training epoch's draw is repeated, so that every run gets the same
  number of steps. Model selection uses the whole site-B validation split in every run;
- ``site_a_check``: the site-B ``enhancer`` on site A's test split, beside the detector alone
  there: whether site A pays for the adaptation;
- ``report``: the seed's record (:func:`~.new_scanner_report.seed_record`) with the paired
  bootstrap of :data:`~.new_scanner_report.PAIRS` over site B's test slices.

The study (:func:`run_study`) runs every seed and writes the JSON (``runs``, pooled intervals,
the mean label-efficiency curve; :func:`~.new_scanner_report.study_result`) and the
label-efficiency plot (:mod:`.new_scanner_report`).
Every stage checks the detector weights: each enhancer checkpoint's detector has the site-A
checksum, the fine-tuned one has not (``detector_checksums`` of a run).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import pickle
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mmlesion.utils import atomic_write_bytes, atomic_write_json

from . import train_and_test
from .baselines import metric_row
from .demo import generate_with_progress, tta_module
from .fixed_setting_search import SEARCH_CLIPS, SEARCH_GRIDS, best_row, search_grid
from .new_scanner_report import (
    KEPT,
    PAIRS,
    load_records,
    method_scorers,
    plot_label_efficiency,
    plot_path,
    seed_record,
    study_result,
)
from .setting_sweep import IDENTITY, Setting, configured, configured_window, sweep_fixed_settings
from .stages import StagedRun

#: The study's own configs, relative to the repository root.
PROJECT_CONFIGS = 'projects/enhancement_benchmark/configs'
#: The CT-native grid: level offset (HU) × width scale × denoising strength; the identity
#: point (0 HU, ×1, no denoising) is the ``identity`` candidate.
WINDOW_LEVELS_HU: tuple[float, ...] = (-40.0, 0.0, 40.0)
WINDOW_WIDTH_SCALES: tuple[float, ...] = (0.8, 1.0, 1.25)
WINDOW_DENOISE: tuple[float, ...] = (0.0, 0.5, 1.0)
WINDOW_IDENTITY: Setting = (0.0, 1.0, 0.0)
#: The label-efficiency subsets, patients of site B's train split.
LABEL_SIZES: tuple[int, ...] = (10, 25, 50, 100)
#: The learned enhancer variants: name -> config (``learned_window`` needs the CT-native family).
LEARNED = {
    'learned_paper': 'configs/demo/enhancer_r18-w16_6e_synth.py',
    'learned_gated': 'configs/demo/enhancer_r18-w16_6e_synth_gated.py',
    'learned_window': 'configs/demo/enhancer_r18-w16_6e_synth_window_denoise.py',
}


@dataclass
class NewScannerSettings:
    """What the study runs; paths relative to the repository root.

    Attributes:
        site_b_data: site B of seed ``S`` lives in ``<site_b_data>_seed<S>``.
        site: the generator's site profile of the new scanner (``'a'`` only to test the
            study's plumbing before site B exists).
        window_config: the CT-native family's config (its fixed grid and ``learned_window``);
            ``None``: the family is left out.
        learned: the enhancer variants trained (name -> config).
        enhancer_options, detector_options: ``--cfg-options`` of every enhancer-style config
            (the sweeps, the learned variants) and of every detector config (fine-tuning,
            test-time augmentation); the tests shrink the models with them.
        null_copies, null_max_shift: the null oracle's copies (the original included) and their
            largest shift, input pixels.
    """

    work_dir: str = 'work_dirs/new_scanner'
    seeds: tuple[int, ...] = (0, 1, 2)
    detector_checkpoint: str = 'work_dirs/demo/detector/best_deeplesion_mAP_epoch_40.pth'
    site_a_data: str = 'data/synthetic_deeplesion'
    site_b_data: str = 'data/synthetic_deeplesion_siteb'
    site: str = 'b'
    num_patients: int = 300
    image_size: int = 256
    difficulty: float = 0.5
    data_workers: int = 2
    force: bool = False
    detector_config: str = 'configs/demo/faster_rcnn_r18-w32_fpn_48e_synth.py'
    fixed_config: str = 'configs/demo/baselines/glcae_fixed_synth.py'
    window_config: str | None = LEARNED['learned_window']
    learned: dict = field(default_factory=lambda: dict(LEARNED))
    finetune_config: str = (
        f'{PROJECT_CONFIGS}/new_scanner/faster_rcnn_r18-w32_fpn_8e_synth_finetune.py'
    )
    search_clips: tuple[float, ...] = SEARCH_CLIPS
    search_grids: tuple[float, ...] = SEARCH_GRIDS
    window_levels_hu: tuple[float, ...] = WINDOW_LEVELS_HU
    window_width_scales: tuple[float, ...] = WINDOW_WIDTH_SCALES
    window_denoise: tuple[float, ...] = WINDOW_DENOISE
    label_sizes: tuple[int, ...] = LABEL_SIZES
    null_copies: int = 8
    null_max_shift: int = 3
    tta: bool = True
    bootstrap_resamples: int = 1000
    bootstrap_seed: int = 0
    enhancer_options: dict = field(default_factory=dict)
    detector_options: dict = field(default_factory=dict)

    def site_b_root(self, seed: int) -> str:
        return f'{self.site_b_data}_seed{seed}'

    def learned_variants(self) -> dict[str, str]:
        """The variants trained: ``learned_window`` only with the CT-native family on."""
        return {
            name: config
            for name, config in self.learned.items()
            if name != 'learned_window' or self.window_config is not None
        }

    def check(self) -> None:
        """Fail now, not after an hour of training, on a missing input.

        Raises:
            FileNotFoundError: the detector checkpoint, site A's data or a config is missing.
            ValueError: site B is asked for but the generator has no sites yet.
        """
        paths = {
            'detector checkpoint (--detector-checkpoint)': self.detector_checkpoint,
            "site A's data (--site-a-data)": f'{self.site_a_data}/DL_info.csv',
            'fine-tuning config': self.finetune_config,
            'fixed-setting config': self.fixed_config,
            **{f'{name} config': config for name, config in self.learned_variants().items()},
        }
        if self.window_config is not None:
            paths['CT-native config (--no-window leaves the family out)'] = self.window_config
        for what, path in paths.items():
            if not Path(path).is_file():
                raise FileNotFoundError(f'new-scanner study: the {what} {path} does not exist')
        synthetic_config(self.site, 1, 0, self.difficulty, self.image_size)


def synthetic_config(site: str, num_patients: int, seed: int, difficulty: float, image_size: int):
    """The generator's config of one site.

    Raises:
        ValueError: ``site`` is not ``'a'`` and this checkout's generator has no
            ``SyntheticConfig.site``.
    """
    from mmlesion.datasets.synthetic import SyntheticConfig

    options = {
        'num_patients': num_patients,
        'seed': seed,
        'difficulty': difficulty,
        'image_size': image_size,
    }
    if any(f.name == 'site' for f in dataclasses.fields(SyntheticConfig)):
        options['site'] = site
    elif site != 'a':
        raise ValueError(
            f'site {site!r} asked for, but this checkout\'s SyntheticConfig has no "site" field '
            "(the generator's second site, make_synthetic_deeplesion.py --site): only site 'a'"
        )
    return SyntheticConfig(**options)


def nested_patient_subsets(
    patients: Sequence[int], sizes: Sequence[int], seed: int
) -> dict[int, list[int]]:
    """Patient-level subsets of ``patients``, one per size, nested: the first ``n`` of one
    permutation drawn with ``seed``, so every subset holds the smaller ones.

    Returns:
        size -> the subset's patient indices, sorted.

    Raises:
        ValueError: a size is not in ``[1, len(set(patients))]``.
    """
    pool = sorted(set(int(p) for p in patients))
    for size in sizes:
        if not 1 <= size <= len(pool):
            raise ValueError(
                f'a subset of {size} patients asked for, but the train split holds {len(pool)}: '
                'choose label sizes in [1, train patients] or generate more (--num-patients)'
            )
    order = np.random.default_rng(seed).permutation(len(pool))
    return {int(n): sorted(pool[i] for i in order[:n]) for n in sizes}


def split_patients(data_root: str | Path) -> dict[str, list[int]]:
    """The patients of each split of a DeepLesion-format folder (its ``DL_info.csv``)."""
    from mmlesion.datasets.dl_info import read_dl_info

    patients: dict[str, set[int]] = {'train': set(), 'val': set(), 'test': set()}
    for row in read_dl_info(Path(data_root) / 'DL_info.csv'):
        patients.setdefault(row.split, set()).add(row.patient_index)
    return {split: sorted(p) for split, p in patients.items()}


def detector_checksum(checkpoint: str | Path) -> str:
    """SHA-256 of the detector weights of a checkpoint: a bare detector's state dict, or the
    ``detector.*`` entries of an enhancer's (keys sorted; names, dtypes, shapes and bytes)."""
    from mmlesion.utils.checkpoint_loading import read_checkpoint, state_dict_of

    state = state_dict_of(read_checkpoint(checkpoint, map_location='cpu'), str(checkpoint))
    if any(k.startswith('detector.') for k in state):
        state = {k[len('detector.') :]: v for k, v in state.items() if k.startswith('detector.')}
    state = {k: v for k, v in state.items() if not k.startswith('data_preprocessor.')}
    digest = hashlib.sha256()
    for key in sorted(state):
        tensor = state[key].detach().cpu().contiguous()
        digest.update(f'{key}|{tensor.dtype}|{tuple(tensor.shape)}|'.encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def candidate_label(family: str, setting: Setting) -> str:
    """``'identity'``, ``'glcae (2, 8)'``, ``'window (-40, 0.8, 0.5)'``."""
    if family == 'identity':
        return 'identity'
    return f'{family} (' + ', '.join(f'{v:g}' for v in setting) + ')'


def _save_records(path: Path, records) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, pickle.dumps(records))
    return str(path)


def _percent(metrics: Mapping[str, float]) -> dict[str, float]:
    """The Runner's ``deeplesion/...`` metrics (fractions) as :data:`KEPT` percent."""
    return {
        'map': 100 * float(metrics['deeplesion/mAP']),
        'ap50': 100 * float(metrics['deeplesion/AP50']),
        'froc_avg': 100 * float(metrics['deeplesion/avg_sens']),
    }


class NewScannerSeed(StagedRun):
    """The study's stages for one seed (module docstring)."""

    def __init__(
        self, settings: NewScannerSettings, seed: int, log: Callable[[str], None] = print
    ) -> None:
        self.settings = settings
        self.seed = seed
        self.site_b = settings.site_b_root(seed)
        learned = tuple(settings.learned_variants())
        label_stages = tuple(
            f'label_efficiency/{method}_{n}'
            for method in ('enhancer', 'finetuned')
            for n in settings.label_sizes
        )
        depends = {
            'data': (),
            'shift': ('data',),
            'tuned_fixed': ('data',),
            'oracle': ('tuned_fixed',),
            **{name: ('data',) for name in learned},
            'finetuned': ('data',),
            'tta': ('data',),
            **{stage: ('data', *learned) for stage in label_stages},
            'site_a_check': ('shift', *learned),
        }
        depends['report'] = tuple(depends)
        super().__init__(
            Path(settings.work_dir) / f'seed{seed}',
            depends,
            settings.force,
            lambda message: log(f'[seed {seed}] {message}'),
        )
        self._infos: dict[str, tuple[list[dict], tuple[str, ...]]] = {}

    # -- helpers -------------------------------------------------------------------------------
    def _data(self, root: str | None = None) -> dict:
        return train_and_test.data_options(root or self.site_b, self.seed)

    def _enhancer_options(self, root: str | None = None) -> dict:
        return {**self._data(root), **self.settings.enhancer_options}

    def _detector_options(self, root: str | None = None) -> dict:
        return {**self._data(root), **self.settings.detector_options}

    def _test_infos(self, root: str) -> tuple[list[dict], tuple[str, ...]]:
        """The test split's items and classes (for the per-slice records of a dump)."""
        from mmlesion.evaluation.subset_evaluation import dataset_infos

        if root not in self._infos:
            options = {**self._enhancer_options(root), 'model.data_preprocessor.regressor': None}
            self._infos[root] = dataset_infos(self.settings.fixed_config, options)
        return self._infos[root]

    def _tested(
        self, name: str, config: str, checkpoint: str, options: dict, stage: str, root: str
    ) -> dict:
        """``name``'s test metrics (percent) and per-slice records on ``root``'s test split,
        and its validation metrics there: ``test``, ``val``, ``records``."""
        from mmlesion.evaluation import slice_records

        out_dir = self.work_dir / stage
        dump = str(out_dir / f'predictions_{name}.pkl')
        train_and_test.test(
            config, checkpoint, str(out_dir / 'test'), options, out=dump, desc=f'{name} (test)'
        )
        infos, classes = self._test_infos(root)
        records = slice_records(load_records(dump), infos)
        val = train_and_test.test(
            config,
            checkpoint,
            str(out_dir / 'val'),
            {**options, 'test_dataloader.dataset.split': 'val'},
            desc=f'{name} (val)',
        )
        return {
            'test': metric_row(records, classes),
            'val': _percent(val),
            'records': _save_records(out_dir / f'records_{name}.pkl', records),
        }

    def _learned_stages(self, stages: Mapping[str, dict]) -> dict[str, dict]:
        return {name: stages[name] for name in self.settings.learned_variants()}

    def best_variant(self, stages: Mapping[str, dict]) -> str:
        """The learned variant with the best site-B validation mAP, then FROC."""
        learned = self._learned_stages(stages)
        names = list(learned)
        return names[best_row([learned[n]['val'] for n in names])]

    def _train_options(
        self, config: str, options: dict, patients: Sequence[int]
    ) -> tuple[dict, int]:
        """``options`` restricted to ``patients`` of the train split, the subset repeated
        when it holds fewer items than an epoch of the config's sampler draws; and the number
        of train items (key slices) of the subset."""
        from mmdet.registry import DATASETS
        from mmengine.registry import init_default_scope

        from mmlesion.utils import load_config, register_all_modules

        register_all_modules()

        options = {**options, 'train_dataloader.dataset.patient_ids': list(patients)}
        cfg = load_config(config, options)
        init_default_scope(cfg.get('default_scope', 'mmdet'))
        num_items = len(DATASETS.build(cfg.train_dataloader.dataset))
        per_epoch = cfg.train_dataloader.sampler.get('num_samples')
        if per_epoch and num_items < per_epoch:
            options['train_dataloader.dataset'] = {
                '_delete_': True,
                'type': 'RepeatDataset',
                'times': math.ceil(per_epoch / num_items),
                'dataset': cfg.train_dataloader.dataset.to_dict(),
            }
        return options, num_items

    # -- the stages ----------------------------------------------------------------------------
    def run(self) -> dict:
        """Run (or resume) every stage of the seed; return the ``report`` stage's record."""
        s = self.settings
        if s.tta:
            tta_module()  # a missing module fails now, not after the training stages
        out: dict[str, dict] = {}
        out['data'] = self._stage('data', self.generate_data)
        # Too large a subset fails now, not after the training stages.
        patients = split_patients(self.site_b)['train']
        subsets = nested_patient_subsets(patients, s.label_sizes, self.seed)
        out['shift'] = self._stage('shift', self.shift)
        out['tuned_fixed'] = self._stage('tuned_fixed', self.tuned_fixed, self._grid_options())
        out['oracle'] = self._stage(
            'oracle', lambda: self.oracle(out['tuned_fixed']), {'null_copies': s.null_copies}
        )
        for name, config in s.learned_variants().items():
            out[name] = self._stage(
                name, lambda name=name, config=config: self.train_learned(name, config)
            )
        out['finetuned'] = self._stage('finetuned', self.finetune)
        if s.tta:
            out['tta'] = self._stage('tta', self.evaluate_tta)
        variant = self.best_variant(out)
        for n, subset in subsets.items():
            stage = f'label_efficiency/enhancer_{n}'
            out[stage] = self._stage(
                stage,
                lambda stage=stage, subset=subset: self.train_subset(
                    stage, s.learned[variant], subset, enhancer=True
                ),
                {'variant': variant, 'patients': subset},
            )
        for n, subset in subsets.items():
            stage = f'label_efficiency/finetuned_{n}'
            out[stage] = self._stage(
                stage,
                lambda stage=stage, subset=subset: self.train_subset(
                    stage, s.finetune_config, subset, enhancer=False
                ),
                {'patients': subset},
            )
        out['site_a_check'] = self._stage(
            'site_a_check',
            lambda: self.site_a_check(s.learned[variant], out[variant], out['shift']),
            {'variant': variant},
        )
        return self._stage('report', lambda: self.report(out, variant))

    def _grid_options(self) -> dict:
        s = self.settings
        return {
            'clips': list(s.search_clips),
            'grids': list(s.search_grids),
            'window': None
            if s.window_config is None
            else [list(s.window_levels_hu), list(s.window_width_scales), list(s.window_denoise)],
        }

    def generate_data(self) -> dict:
        s = self.settings
        config = synthetic_config(s.site, s.num_patients, self.seed, s.difficulty, s.image_size)
        summary = generate_with_progress(self.site_b, config, s.data_workers)
        self.log(summary.format())
        patients = split_patients(self.site_b)
        return {
            'data_root': self.site_b,
            'config': dataclasses.asdict(config),
            'summary': summary.format(),
            'patients': {split: len(p) for split, p in patients.items()},
        }

    def _alone(self, root: str, split: str, desc: str):
        return sweep_fixed_settings(
            self.settings.fixed_config,
            self.settings.detector_checkpoint,
            [IDENTITY],
            self._enhancer_options(root),
            split,
            desc=desc,
        )

    def shift(self) -> dict:
        """The detector alone on site A's test split, site B's validation and test splits."""
        s = self.settings
        site_a = self._alone(s.site_a_data, 'test', 'alone, site A (test)')
        val = self._alone(self.site_b, 'val', 'alone, site B (val)')
        test = self._alone(self.site_b, 'test', 'alone, site B (test)')
        rows = {
            'site_a_test': metric_row(site_a.records[IDENTITY], site_a.classes),
            'site_b_val': metric_row(val.records[IDENTITY], val.classes),
            'site_b_test': metric_row(test.records[IDENTITY], test.classes),
        }
        folder = self.work_dir / 'shift'
        return {
            **rows,
            'drop': {k: rows['site_a_test'][k] - rows['site_b_test'][k] for k in KEPT},
            'records': {
                'alone': _save_records(folder / 'records_alone.pkl', test.records[IDENTITY]),
                'site_a_alone': _save_records(
                    folder / 'records_site_a_alone.pkl', site_a.records[IDENTITY]
                ),
            },
            'detector_checksum': detector_checksum(s.detector_checkpoint),
        }

    def _families(self) -> list[tuple[str, str, str | None, Callable, list[Setting]]]:
        """(family, config, method, configure, settings) of each fixed family."""
        s = self.settings
        grid = search_grid(s.search_clips, s.search_grids)
        families = [
            ('glcae', s.fixed_config, 'glcae', configured, grid),
            ('clahe', s.fixed_config, 'clahe', configured, grid),
        ]
        if s.window_config is not None:
            window = [
                (float(level), float(width), float(denoise))
                for level in s.window_levels_hu
                for width in s.window_width_scales
                for denoise in s.window_denoise
                if (level, width, denoise) != WINDOW_IDENTITY
            ]
            families.append(('window', s.window_config, None, configured_window, window))
        return families

    def _sweep_candidates(self, split: str) -> tuple[dict[str, list[dict]], dict, tuple]:
        """Every candidate's per-slice records on a site-B split: label -> records, label ->
        (family, setting), classes. Identity comes first."""
        s = self.settings
        records: dict[str, list[dict]] = {}
        described: dict[str, tuple[str, Setting]] = {}
        classes: tuple = ()
        for family, config, method, configure, settings in self._families():
            candidates = [IDENTITY, *settings] if family == 'glcae' else settings
            options = self._enhancer_options()
            if family == 'window':  # built in fixed mode: a valid setting to start from
                options['model.data_preprocessor.fixed_params'] = list(WINDOW_IDENTITY)
            sweep = sweep_fixed_settings(
                config,
                s.detector_checkpoint,
                candidates,
                options,
                split,
                method=method,
                desc=f'{family} sweep ({split})',
                configure=configure,
            )
            classes = sweep.classes
            for setting in sweep.settings:
                name = 'identity' if setting == IDENTITY else family
                label = candidate_label(name, setting)
                records[label] = sweep.records[setting]
                described[label] = (name, list(setting))
        return records, described, classes

    def tuned_fixed(self) -> dict:
        """Per family and overall, the fixed candidate with the best site-B validation mAP
        (then FROC), identity included; each tested on site B's test split."""
        val, described, classes = self._sweep_candidates('val')
        test, _, _ = self._sweep_candidates('test')
        labels = list(val)
        val_rows = [{'candidate': c, **metric_row(val[c], classes)} for c in labels]
        test_rows = [{'candidate': c, **metric_row(test[c], classes)} for c in labels]
        chosen: dict[str, str] = {}
        for family in dict.fromkeys(f for f, _ in described.values() if f != 'identity'):
            members = [i for i, c in enumerate(labels) if described[c][0] in ('identity', family)]
            chosen[f'{family}_tuned'] = labels[members[best_row([val_rows[i] for i in members])]]
        chosen['tuned_fixed'] = labels[best_row(val_rows)]
        folder = self.work_dir / 'tuned_fixed'
        methods = {}
        for name, label in chosen.items():
            methods[name] = {
                'candidate': label,
                'family': described[label][0],
                'setting': described[label][1],
                'val': val_rows[labels.index(label)],
                'test': metric_row(test[label], classes),
                'records': _save_records(folder / f'records_{name}.pkl', test[label]),
            }
        return {
            'methods': methods,
            'search_val': val_rows,
            'search_test': test_rows,
            'candidates': {c: {'family': f, 'setting': v} for c, (f, v) in described.items()},
            'candidate_records': _save_records(folder / 'candidate_records.pkl', test),
            'classes': list(classes),
        }

    def oracle(self, tuned: dict) -> dict:
        """``oracle`` over ``tuned_fixed``'s test candidates; ``oracle_null`` over shifted
        copies of the unenhanced test slices."""
        from .nuisance import shift_copies
        from .oracle import choose_per_slice, null_oracle
        from .setting_sweep import sweep_nuisance_copies

        s = self.settings
        candidates = load_records(tuned['candidate_records'])
        classes = tuple(tuned['classes'])
        labels = list(candidates)
        best = choose_per_slice(labels, candidates, len(classes) or None)['best']
        records = [candidates[labels[b]][i] for i, b in enumerate(best)]
        families = Counter(tuned['candidates'][labels[b]]['family'] for b in best)
        folder = self.work_dir / 'oracle'
        methods = {
            'oracle': {
                'test': metric_row(records, classes),
                'records': _save_records(folder / 'records_oracle.pkl', records),
                'chosen_families': dict(families),
                'num_candidates': len(labels),
            }
        }
        if s.null_copies > 1:
            copies = shift_copies(s.null_copies, s.null_max_shift, seed=self.seed)
            sweeps = sweep_nuisance_copies(
                s.fixed_config,
                s.detector_checkpoint,
                {copy: [IDENTITY] for copy in copies},
                self._enhancer_options(),
                'test',
                desc='null copies (test)',
            )
            null = null_oracle({c: sweeps[c].records[IDENTITY] for c in copies}, classes)
            methods['oracle_null'] = {
                'test': metric_row(null['records'], classes),
                'records': _save_records(folder / 'records_oracle_null.pkl', null['records']),
                'copies': [c.as_dict() for c in copies],
                'margin_map': 100 * null['margin_map'],
            }
        return {'methods': methods}

    def train_learned(self, name: str, config: str) -> dict:
        """One enhancer variant trained in front of the frozen site-A detector on site B."""
        s = self.settings
        options = self._enhancer_options()
        trained = self._train(
            config, name, {**options, 'model.detector_checkpoint': s.detector_checkpoint}
        )
        tested = self._tested(name, config, trained['checkpoint'], options, name, self.site_b)
        return {**trained, **tested, 'detector_checksum': detector_checksum(trained['checkpoint'])}

    def finetune(self) -> dict:
        """The site-A detector fine-tuned on site B (all weights, from ``load_from``)."""
        s = self.settings
        options = self._detector_options()
        trained = self._train(
            s.finetune_config, 'finetuned', {**options, 'load_from': s.detector_checkpoint}
        )
        tested = self._tested(
            'finetuned', s.finetune_config, trained['checkpoint'], options, 'finetuned', self.site_b
        )
        return {**trained, **tested, 'detector_checksum': detector_checksum(trained['checkpoint'])}

    def evaluate_tta(self) -> dict:
        """The frozen detector under test-time augmentation on site B's test split."""
        from mmlesion.evaluation import slice_records

        s = self.settings
        folder = self.work_dir / 'tta'
        dump = str(folder / 'predictions_tta.pkl')
        result = tta_module().evaluate_tta(
            config=s.detector_config,
            checkpoint=s.detector_checkpoint,
            data_root=self.site_b,
            work_dir=str(folder / 'test'),
            cfg_options=self._detector_options(),
            out=dump,
            desc='tta',
        )
        infos, classes = self._test_infos(self.site_b)
        records = slice_records(load_records(dump), infos)
        return {
            'test': metric_row(records, classes),
            'records': _save_records(folder / 'records_tta.pkl', records),
            'timing': {k: v for k, v in result.items() if k != 'metrics'},
        }

    def train_subset(
        self, stage: str, config: str, patients: Sequence[int], enhancer: bool
    ) -> dict:
        """A label-efficiency run: ``config`` trained on ``patients`` of site B's train split
        (an enhancer in front of the frozen detector, or the fine-tuned detector), tested."""
        s = self.settings
        if enhancer:
            options = self._enhancer_options()
            extra = {'model.detector_checkpoint': s.detector_checkpoint}
        else:
            options = self._detector_options()
            extra = {'load_from': s.detector_checkpoint}
        train_options, num_items = self._train_options(config, {**options, **extra}, patients)
        trained = self._train(config, stage, train_options)
        metrics = train_and_test.test(
            config, trained['checkpoint'], str(self.work_dir / stage / 'test'), options, desc=stage
        )
        return {
            **trained,
            'num_patients': len(patients),
            'num_train_items': num_items,
            'test': _percent(metrics),
        }

    def site_a_check(self, config: str, learned: dict, shift: dict) -> dict:
        """The site-B enhancer on site A's test split, against the detector alone there."""
        from mmlesion.evaluation import paired_bootstrap, slice_records

        s = self.settings
        folder = self.work_dir / 'site_a_check'
        dump = str(folder / 'predictions_enhancer.pkl')
        train_and_test.test(
            config,
            learned['checkpoint'],
            str(folder / 'test'),
            self._enhancer_options(s.site_a_data),
            out=dump,
            desc='enhancer, site A (test)',
        )
        infos, classes = self._test_infos(s.site_a_data)
        records = slice_records(load_records(dump), infos)
        saved = _save_records(folder / 'records_enhancer.pkl', records)
        scorers = method_scorers({'enhancer': saved, 'alone': shift['records']['site_a_alone']})
        return {
            'site_a_enhancer': metric_row(records, classes),
            'site_a_alone': shift['site_a_test'],
            'bootstrap': {
                'enhancer-alone': paired_bootstrap(
                    scorers['enhancer'],
                    scorers['alone'],
                    num_resamples=s.bootstrap_resamples,
                    seed=s.bootstrap_seed,
                )
            },
            'records': saved,
        }

    def report(self, stages: Mapping[str, dict], variant: str) -> dict:
        """The seed's record (:func:`seed_record`) with its paired bootstrap intervals."""
        from mmlesion.evaluation import paired_bootstrap

        record = seed_record(self.settings, self.seed, stages, variant)
        scorers = method_scorers(record['records'])
        record['bootstrap'] = {
            f'{a}-{b}': paired_bootstrap(
                scorers[a],
                scorers[b],
                num_resamples=self.settings.bootstrap_resamples,
                seed=self.settings.bootstrap_seed,
            )
            for a, b in PAIRS
            if a in scorers and b in scorers
        }
        return record


def run_study(
    settings: NewScannerSettings,
    out_file: str | Path,
    command: str = '',
    log: Callable[[str], None] = print,
) -> dict:
    """Run (or resume) every seed, then write ``out_file`` and its plot (:func:`plot_path`)."""
    settings.check()
    runs = [NewScannerSeed(settings, seed, log).run() for seed in settings.seeds]
    result = study_result(settings, runs, command)
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out_file, result, indent=2)
    plot_label_efficiency(result, plot_path(out_file))
    for run in result['runs']:
        seconds = ', '.join(f'{k} {v:.0f} s' for k, v in run['stage_seconds'].items() if v)
        log(f'[seed {run["seed"]}] stage seconds: {seconds}')
    return result
