"""Open a gated enhancer's blend gate only where validation shows a gain over the detector alone.

Training keeps the epoch with the best validation mAP, so the enhancer's gain on validation is
partly the luck of that choice, and a gain of that size need not carry to new images.
:func:`check_gate` therefore scores the trained enhancer and the detector alone on the same
validation slices, bootstraps their paired mAP difference
(:func:`~mmlesion.evaluation.paired_bootstrap`), and writes a checkpoint whose gate stays open
only when the interval's lower bound lies above ``min_gain``. Otherwise the gate is closed
(``alpha = 0`` for every image): the detector gets its inputs untouched and detects exactly
what it detects alone. ``tools/gate_check.py`` is the command line.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from mmlesion.evaluation import paired_bootstrap, slice_records
from mmlesion.evaluation.functional import WeightedSliceMetrics
from mmlesion.evaluation.paired_bootstrap import aligned_results
from mmlesion.evaluation.subset_evaluation import dataset_infos
from mmlesion.utils import atomic_write_bytes, prepare_test_config, read_checkpoint, state_dict_of
from mmlesion.utils.checkpoint_loading import BENIGN_MISSING_SUFFIXES, load_state_strictly
from mmlesion.utils.safe_pickle import load_predictions

#: The gate's buffer in a :class:`~mmlesion.models.FrozenDetectorEnhancer` state dict.
GATE_KEY = 'data_preprocessor.regressor.gate_open'
#: The regressor's weights in that state dict.
REGRESSOR_PREFIX = 'data_preprocessor.regressor.'
#: A weight that only a gated regressor has.
GATE_HEAD_PREFIX = REGRESSOR_PREFIX + 'gate_head.'


@dataclass(frozen=True)
class GateDecision:
    """Whether the gate stays open, and the validation evidence it was decided on."""

    #: True: the enhancer runs as trained; False: ``alpha = 0`` (the detector alone).
    open: bool
    #: Enhancer − detector alone, mAP in percentage points, on the whole split.
    gain: float
    #: The paired-bootstrap interval of ``gain`` (points).
    interval: tuple[float, float]
    #: The lower bound ``interval`` had to exceed for the gate to stay open (points).
    min_gain: float
    confidence: float
    split: str
    num_slices: int

    def as_dict(self) -> dict:
        """The decision as kept in a checkpoint's ``meta['gate_check']`` (JSON-ready)."""
        return {**asdict(self), 'interval': list(self.interval)}

    @classmethod
    def from_dict(cls, record: Mapping) -> GateDecision:
        """The decision back from :meth:`as_dict`'s record."""
        return cls(**{**record, 'interval': tuple(record['interval'])})

    def describe(self) -> str:
        """The decision and its evidence in one line, e.g. ``gate closed (the detector alone):
        enhancer − detector alone on val +0.30 mAP points [-0.20, +0.80] (95% paired
        bootstrap, 200 slices), lower bound above +0.00 needed`` (made-up values)."""
        low, high = self.interval
        state = 'open' if self.open else 'closed (the detector alone)'
        return (
            f'gate {state}: enhancer − detector alone on {self.split} {self.gain:+.2f} mAP '
            f'points [{low:+.2f}, {high:+.2f}] ({self.confidence:.0%} paired bootstrap, '
            f'{self.num_slices} slices), lower bound above {self.min_gain:+.2f} needed'
        )


def gate_decision(
    bootstrap: Mapping, min_gain: float = 0.0, split: str = 'val', num_slices: int = 0
) -> GateDecision:
    """The decision of one :func:`~mmlesion.evaluation.paired_bootstrap` of enhancer − detector
    alone: open when its mAP interval's lower bound is above ``min_gain`` (points); a NaN
    bound (every resample undefined) closes it."""
    low, high = (float(v) for v in bootstrap['map'])
    return GateDecision(
        open=bool(low > min_gain),  # False for NaN
        gain=float(bootstrap['point']['map']),
        interval=(low, high),
        min_gain=float(min_gain),
        confidence=float(bootstrap['confidence']),
        split=split,
        num_slices=int(num_slices),
    )


def require_gate(state: Mapping, source: str | Path) -> None:
    """Raise unless ``state`` (a state dict read from ``source``) holds a gated enhancer.

    Raises:
        ValueError: no gate head (a paper-style enhancer, or a detector).
    """
    if not any(key.startswith(GATE_HEAD_PREFIX) for key in state):
        raise ValueError(
            f'{source} has no blend gate ({GATE_HEAD_PREFIX}* weights): train the enhancer '
            'with regressor=dict(..., gate=True), e.g. '
            'configs/demo/enhancer_r18-w16_6e_synth_gated.py'
        )


def write_gate(
    checkpoint: str | Path,
    out: str | Path,
    is_open: bool,
    note: Mapping,
    data: dict | None = None,
) -> Path:
    """Copy a gated enhancer's checkpoint to ``out`` with its gate open or closed, ``note``
    kept as ``meta['gate_check']``.

    A checkpoint written before the gate had its buffer gets one. ``data``: the checkpoint
    already read (:func:`~mmlesion.utils.read_checkpoint`), to spare a second read; it is
    changed in place.

    Raises:
        ValueError: the checkpoint has no gate head (a paper-style enhancer, or a detector).
    """
    if data is None:
        data = read_checkpoint(checkpoint)
    state = dict(state_dict_of(data, str(checkpoint)))
    require_gate(state, checkpoint)
    state[GATE_KEY] = torch.tensor(1.0 if is_open else 0.0)
    data['state_dict'] = state
    data['meta'] = {**data.get('meta', {}), 'gate_check': dict(note)}
    buffer = io.BytesIO()
    torch.save(data, buffer)
    return atomic_write_bytes(out, buffer.getvalue())


def split_predictions(
    config: str,
    checkpoint: str,
    work_dir: str | Path,
    cfg_options: Mapping,
    out: str | Path,
    desc: str,
    state: Mapping | None = None,
    data_root: str | None = None,
) -> list[dict]:
    """Test ``checkpoint`` with ``config`` (the split chosen in ``cfg_options``) and return its
    predictions, also dumped to ``out``.

    The weights load strictly (:func:`~mmlesion.utils.checkpoint_loading.load_state_strictly`);
    a model built without the regressor (the detector alone) takes the checkpoint's other
    weights. ``state``: the checkpoint's state dict already read, to spare a read.
    ``data_root``: one DeepLesion folder for every dataloader (``--data-root``).
    """
    from mmengine.model import is_model_wrapper
    from mmengine.runner import Runner

    cfg = prepare_test_config(
        config,
        checkpoint,
        work_dir=str(work_dir),
        cfg_options=dict(cfg_options),
        out=str(out),
        data_root=data_root,
    )
    cfg.load_from = None
    cfg.custom_hooks = [*cfg.get('custom_hooks', []), {'type': 'ProgressBarHook', 'desc': desc}]
    runner = Runner.from_cfg(cfg)
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    if state is None:
        state = state_dict_of(read_checkpoint(checkpoint, map_location='cpu'), str(checkpoint))
    if not any(key.startswith(REGRESSOR_PREFIX) for key in model.state_dict()):
        state = {k: v for k, v in state.items() if not k.startswith(REGRESSOR_PREFIX)}
    load_state_strictly(model, state, str(checkpoint), desc, benign_missing=BENIGN_MISSING_SUFFIXES)
    runner.test()
    with open(out, 'rb') as f:
        return load_predictions(f)


def check_gate(
    config: str,
    checkpoint: str,
    out_checkpoint: str | Path,
    work_dir: str | Path,
    cfg_options: Mapping | None = None,
    data_root: str | None = None,
    split: str = 'val',
    min_gain: float = 0.0,
    num_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> GateDecision:
    """Decide a gated enhancer's gate on ``split`` and write the checkpoint to deploy.

    Args:
        config: the gated enhancer's config (its detector and data).
        checkpoint: the trained enhancer (``regressor=dict(..., gate=True)``).
        out_checkpoint: where the checkpoint with the decided gate goes.
        work_dir: the two test runs' folder (their logs and dumped predictions).
        cfg_options: ``--cfg-options`` for both runs.
        data_root: one DeepLesion folder (``DL_info.csv``, ``Images_png/``) for both runs, in
            place of the config's (``--data-root``, :func:`~mmlesion.utils.set_data_root`).
        split: the dataset split both are scored on (never the test split one reports on).
        min_gain: the interval's lower bound must exceed this (mAP points) to keep the gate.
        num_resamples, seed, confidence: of the paired bootstrap.

    Returns:
        The decision (also kept in the written checkpoint's ``meta['gate_check']``).

    Raises:
        ValueError: ``checkpoint`` has no blend gate (:func:`require_gate`).
    """
    work_dir = Path(work_dir)
    data = read_checkpoint(checkpoint, map_location='cpu')
    state = state_dict_of(data, str(checkpoint))
    require_gate(state, checkpoint)  # before the two validation runs, not after them
    options = {**(cfg_options or {}), 'test_dataloader.dataset.split': split}
    alone = {
        **options,
        'model.data_preprocessor.mode': 'identity',
        'model.data_preprocessor.regressor': None,
    }
    enhanced = split_predictions(
        config,
        checkpoint,
        work_dir / 'enhancer',
        options,
        work_dir / f'predictions_enhancer_{split}.pkl',
        f'gated enhancer ({split})',
        state,
        data_root,
    )
    detector = split_predictions(
        config,
        checkpoint,
        work_dir / 'detector',
        alone,
        work_dir / f'predictions_detector_{split}.pkl',
        f'detector alone ({split})',
        state,
        data_root,
    )
    infos, classes = dataset_infos(config, options, data_root)
    aligned = aligned_results(
        {
            'enhancer': slice_records(enhanced, infos),
            'detector': slice_records(detector, infos),
        }
    )
    num_classes = len(classes) or None
    bootstrap = paired_bootstrap(
        WeightedSliceMetrics(aligned['enhancer'], num_classes),
        WeightedSliceMetrics(aligned['detector'], num_classes),
        num_resamples=num_resamples,
        seed=seed,
        confidence=confidence,
    )
    decision = gate_decision(bootstrap, min_gain, split, len(aligned['enhancer']))
    write_gate(checkpoint, out_checkpoint, decision.open, decision.as_dict(), data)
    return decision
