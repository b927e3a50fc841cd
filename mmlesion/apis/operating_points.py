"""Operating points measured on the validation split, kept in a sidecar beside the checkpoint.

Inference must not need the data set, so the choice of a score threshold by false positives per
image is made in two steps:

1. ``tools/analysis_tools/operating_point.py CONFIG CHECKPOINT --fp-per-image 1 2 4`` runs the
   model on the config's validation split (:func:`measure_operating_points`) and writes
   ``<checkpoint>.operating_points.json`` (:func:`write_operating_points`);
2. ``tools/infer.py --fp-per-image 4`` reads the threshold back (:func:`read_operating_point`).

The sidecar goes beside the enhancer checkpoint when there is one (the thresholds hold for that
detector and enhancer together), else beside the detector checkpoint. It records the SHA-256 of
every checkpoint it was measured with, so thresholds of other weights are refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from mmlesion.evaluation import deeplesion_metric_kwargs, froc_operating_points, slice_records
from mmlesion.evaluation.functional import get_froc_protocol
from mmlesion.utils.atomic_write import atomic_write_json

from .predictions_json import strict_json

#: Appended to the checkpoint's file name.
SIDECAR_SUFFIX = '.operating_points.json'
#: Raised when a field of the sidecar changes meaning.
SIDECAR_VERSION = 1
#: What makes the sidecar, for error messages.
MEASURE_COMMAND = 'python tools/analysis_tools/operating_point.py CONFIG CHECKPOINT'


def operating_points_path(checkpoint: str | Path, enhancer_checkpoint: str | Path | None = None):
    """``<checkpoint>.operating_points.json`` of the checkpoint that decides the detections
    last: the enhancer's when given, else the detector's (or whole enhancer's)."""
    return Path(f'{enhancer_checkpoint or checkpoint}{SIDECAR_SUFFIX}')


def file_sha256(path: str | Path) -> str:
    """The hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, 'rb') as file:
        for block in iter(lambda: file.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def _checkpoint_hashes(checkpoints: Mapping[str, str | Path | None]) -> dict[str, str | None]:
    return {role: None if path is None else file_sha256(path) for role, path in checkpoints.items()}


def measure_operating_points(
    inferencer, fp_per_image: Sequence[float], split: str = 'val', batch_size: int = 8
) -> dict:
    """Run ``inferencer``'s model on its config's ``split`` and find each target's threshold.

    The model is the one :class:`~.lesion_inferencer.LesionInferencer` built (same weights,
    same enhancer); the images go through the split's own pipeline and the FROC follows the
    split's ``DeepLesionMetric`` settings (``protocol``, ``iou_thr``, ``overlap``).

    Args:
        inferencer: a :class:`~.lesion_inferencer.LesionInferencer`.
        fp_per_image: target false positives per image.
        split: ``'val'`` (the point of a validation split) or ``'test'``.
        batch_size: images per forward pass.

    Returns:
        The sidecar document (see :func:`write_operating_points`), without checkpoint hashes.
    """
    from mmdet.registry import DATASETS

    cfg = inferencer.cfg
    dataset = DATASETS.build(cfg[f'{split}_dataloader'].dataset)
    metric_kwargs = deeplesion_metric_kwargs(cfg[f'{split}_evaluator'])
    predictions = []
    for start in range(0, len(dataset), batch_size):
        items = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
        for sample in inferencer.predict_packed(items):
            pred = sample.pred_instances
            predictions.append(
                {
                    'img_path': sample.img_path,
                    'pred_instances': {
                        key: pred[key].cpu().numpy() for key in ('bboxes', 'scores', 'labels')
                    },
                }
            )
    records = slice_records(predictions, (dataset.get_data_info(i) for i in range(len(dataset))))
    protocol = get_froc_protocol(metric_kwargs.get('protocol', 'mmlesion'))
    iou_thr = float(metric_kwargs.get('iou_thr', 0.5))
    overlap = metric_kwargs.get('overlap', 'iou')
    points = froc_operating_points(
        [r['pred_bboxes'] for r in records],
        [r['pred_scores'] for r in records],
        [r['gt_bboxes'] for r in records],
        fp_per_image,
        iou_thr=iou_thr,
        overlap=overlap,
        gt_ignore=[r['gt_ignore'] for r in records],
        protocol=protocol,
    )
    return {
        'schema_version': SIDECAR_VERSION,
        'split': split,
        'num_images': len(records),
        'num_lesions': int(sum((~r['gt_ignore']).sum() for r in records)),
        'protocol': protocol.name,
        'iou_thr': iou_thr,
        'overlap': overlap,
        'operating_points': [
            {
                'fp_per_image': p.fp_per_image,
                'score_thr': p.score_thr,
                'measured_fp_per_image': p.measured_fp_per_image,
                'sensitivity': p.sensitivity,
            }
            for p in points
        ],
    }


def write_operating_points(
    document: Mapping, checkpoints: Mapping[str, str | Path | None], path: str | Path
) -> Path:
    """Write a :func:`measure_operating_points` document to ``path``, with the SHA-256 of each
    checkpoint (``{'checkpoint': ..., 'enhancer_checkpoint': ... or None}``) it was measured
    with."""
    record = {**document, 'checkpoint_sha256': _checkpoint_hashes(checkpoints)}
    return atomic_write_json(path, strict_json(record), indent=2, allow_nan=False)


def read_operating_point(
    fp_per_image: float, checkpoints: Mapping[str, str | Path | None], path: str | Path
) -> dict:
    """The operating point for ``fp_per_image`` in the sidecar at ``path``.

    Args:
        fp_per_image: the target false positives per image, one the sidecar holds.
        checkpoints: the checkpoints inference runs with (``checkpoint``,
            ``enhancer_checkpoint``), which must be the ones measured.
        path: the sidecar (:func:`operating_points_path`).

    Returns:
        ``{'chosen_by': 'fp_per_image', 'fp_per_image', 'score_thr', 'measured_fp_per_image',
        'sensitivity', 'split', 'num_images', 'num_lesions', 'protocol', 'iou_thr', 'overlap'}``.

    Raises:
        FileNotFoundError: no sidecar (the message gives the command that makes it).
        ValueError: the sidecar lacks ``fp_per_image``, or was measured with other weights.
    """
    path = Path(path)
    command = f'{MEASURE_COMMAND} --fp-per-image {fp_per_image:g}'
    if checkpoints.get('enhancer_checkpoint'):
        command += ' --enhancer-checkpoint ENHANCER'
    if not path.is_file():
        raise FileNotFoundError(
            f'{path} not found: the operating points are measured on the validation split '
            f'first, with: {command}'
        )
    document = json.loads(path.read_text())
    available = [p['fp_per_image'] for p in document.get('operating_points', [])]
    matches = [
        p for p in document['operating_points'] if abs(p['fp_per_image'] - fp_per_image) < 1e-9
    ]
    if not matches:
        raise ValueError(
            f'{path} holds no operating point at {fp_per_image:g} false positives per image '
            f'(it holds {available}); add it with: {command}'
        )
    measured = document.get('checkpoint_sha256', {})
    if measured != _checkpoint_hashes(checkpoints):
        raise ValueError(
            f'{path} was measured with other weights than {dict(checkpoints)} (SHA-256 differs); '
            f'measure again with: {command}'
        )
    keys = ('split', 'num_images', 'num_lesions', 'protocol', 'iou_thr', 'overlap')
    return {'chosen_by': 'fp_per_image', **matches[0], **{k: document.get(k) for k in keys}}
