"""Lesion detection on clinical CT: a trained detector, optionally behind a learned enhancer."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope

from mmlesion.models.detectors.frozen_detector_enhancer import NORMALISATION_AND_PADDING
from mmlesion.models.regressors import enhancer_preprocessor_config

from .ct_volume import CTVolume, Spacing
from .load_ct import has_spacing, load_ct_input

#: Pipeline steps that read DeepLesion files or annotations: the inferencer does that itself.
_LOADING_TRANSFORMS = ('LoadDeepLesionSlices', 'LoadAnnotations')


@dataclass(frozen=True)
class Detection:
    """One detected lesion, in the original slice's pixels.

    ``long_side_mm`` / ``short_side_mm`` are the box's sides times the pixel spacing (a size
    estimate, not a RECIST measurement); NaN when the spacing is unknown.
    """

    bbox_px: tuple[float, float, float, float]
    score: float
    label: str
    long_side_mm: float
    short_side_mm: float


@dataclass(frozen=True)
class SliceResult:
    """What the inferencer found on one slice, with the enhancement it chose."""

    source: str
    slice_name: str
    slice_index: int
    spacing_mm: Spacing
    clahe_clip_limit: float | None
    clahe_grid_size: float | None
    detections: list[Detection] = field(default_factory=list)
    #: The key slice as the detector saw it (after windowing and enhancement), ``(H, W)`` in
    #: [0, 1] in the original pixels; kept out of the JSON.
    display: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        record = asdict(self)
        record.pop('display')
        return record


def _strip_loading(pipeline: Sequence[dict]) -> tuple[list[dict], dict]:
    """The test pipeline without its file-loading steps, and the 2.5D slice settings."""
    steps, slices = [], {'num_slices': 3, 'slice_interval_mm': 2.0}
    for step in pipeline:
        if step['type'] == 'LoadDeepLesionSlices':
            slices.update({k: step[k] for k in slices if k in step})
        if step['type'] not in _LOADING_TRANSFORMS:
            steps.append(step)
    return steps, slices


def _enhancer_model_config(
    cfg: Config, checkpoint: str, enhancer_checkpoint: str | None, enhancer_config: str | None
) -> dict:
    """A ``FrozenDetectorEnhancer`` config around the detector of ``cfg``, with its weights."""
    if cfg.model.type == 'FrozenDetectorEnhancer':
        model = copy.deepcopy(cfg.model).to_dict()
        learned = model['data_preprocessor'].get('mode', 'learned') == 'learned'
        # A whole enhancer checkpoint holds the detector and, in learned mode, the regressor.
        model['detector_checkpoint'] = checkpoint
        model['enhancer_checkpoint'] = enhancer_checkpoint or (checkpoint if learned else None)
        return model
    if enhancer_checkpoint is None:
        preprocessor = {'type': 'AdaptiveCLAHEPreprocessor', 'mode': 'identity'}
    elif enhancer_config is not None:
        preprocessor = Config.fromfile(enhancer_config).model.data_preprocessor.to_dict()
    else:
        preprocessor = enhancer_preprocessor_config(enhancer_checkpoint)
    # This detector's own normalisation and padding, not those of the enhancer's detector.
    for key in NORMALISATION_AND_PADDING:
        preprocessor.pop(key, None)
    return {
        'type': 'FrozenDetectorEnhancer',
        'detector': cfg.model,
        'detector_checkpoint': checkpoint,
        'enhancer_checkpoint': enhancer_checkpoint,
        'data_preprocessor': preprocessor,
    }


class LesionInferencer:
    """Detect lesions on CT slices from DICOM, DeepLesion PNG or NIfTI input.

    Example::

        inferencer = LesionInferencer('configs/faster_rcnn_r50_fpn_deeplesion.py', 'det.pth',
                                      enhancer_checkpoint='enhancer.pth')
        results = inferencer('series_folder/', out_dir='work_dirs/infer')

    The input goes through the config's own test pipeline (HU windows, resampling to a pixel
    spacing, packing) after the 2.5D stacking of :meth:`CTVolume.stack`, so a clinical slice is
    seen exactly as a DeepLesion slice was in training.

    Args:
        config: a detector config, or an enhancer (``FrozenDetectorEnhancer``) config.
        checkpoint: the detector's checkpoint; with an enhancer config, the trained enhancer's
            checkpoint (it holds the detector and the regressor).
        enhancer_checkpoint: a trained enhancer: its regressor chooses (clip limit, grid size)
            per slice. Its preprocessor config is read from the checkpoint (mmengine stores the
            training config in it) unless ``enhancer_config`` is given. None with a detector
            config: no enhancement.
        enhancer_config: the enhancer's config file, when the checkpoint carries none.
        device: ``'cpu'``, ``'cuda'``...; default CUDA when available.
        score_thr: detections below this score are dropped.
    """

    def __init__(
        self,
        config: str,
        checkpoint: str,
        enhancer_checkpoint: str | None = None,
        enhancer_config: str | None = None,
        device: str | None = None,
        score_thr: float = 0.3,
    ) -> None:
        from mmdet.registry import MODELS

        import mmlesion.models  # noqa: F401  (registration)

        self.cfg = Config.fromfile(config)
        init_default_scope(self.cfg.get('default_scope', 'mmdet'))
        self.device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
        self.score_thr = score_thr
        self.model = MODELS.build(
            _enhancer_model_config(self.cfg, checkpoint, enhancer_checkpoint, enhancer_config)
        )
        self.model.to(self.device).eval()
        steps, self.slice_settings = _strip_loading(self.cfg.test_dataloader.dataset.pipeline)
        self.pipeline = Compose(steps)
        self.needs_spacing = any(step['type'] == 'RescaleToSpacing' for step in steps)
        self.classes = _dataset_classes(self.cfg)

    def _item(self, volume: CTVolume, index: int) -> dict:
        if self.needs_spacing and not has_spacing(volume.spacing_mm):
            raise ValueError(
                f'{volume.source}: the pixel spacing is unknown, but this config resamples to a '
                'fixed spacing in mm; give spacing_mm=(x, y, z) or a DL_info.csv'
            )
        image = volume.stack(index, **self.slice_settings)
        height, width = image.shape[:2]
        results = {
            'img': image,
            'img_shape': (height, width),
            'ori_shape': (height, width),
            'scale_factor': (1.0, 1.0),
            'spacing_mm': volume.spacing_mm,
            'img_id': volume.slice_names[index],
            'img_path': str(Path(volume.source) / volume.slice_names[index]),
        }
        return self.pipeline(results)

    @torch.no_grad()
    def _run(self, items: list[dict]) -> list[tuple[object, np.ndarray]]:
        """Detect on packed items; return each data sample and the image the detector saw."""
        data = self.model.data_preprocessor(pseudo_collate(items), False)
        samples = self.model.predict(data['inputs'], data['data_samples'])
        preprocessor = self.model.data_preprocessor
        shown = data['inputs'] * preprocessor.std + preprocessor.mean
        outputs = []
        for sample, image in zip(samples, shown, strict=True):
            height, width = sample.img_shape
            key = image[image.shape[0] // 2, :height, :width] / preprocessor.intensity_max
            key = key.clamp(0, 1).cpu().numpy()
            # Back to the original pixels, where the predicted boxes are.
            ori_height, ori_width = sample.ori_shape
            if (ori_height, ori_width) != (height, width):
                key = cv2.resize(key, (ori_width, ori_height), interpolation=cv2.INTER_LINEAR)
            outputs.append((sample, key))
        return outputs

    def _result(self, volume: CTVolume, index: int, sample, display: np.ndarray) -> SliceResult:
        pred = sample.pred_instances
        keep = pred.scores >= self.score_thr
        boxes = pred.bboxes[keep].cpu().numpy().astype(float)
        scores = pred.scores[keep].cpu().numpy().astype(float)
        labels = pred.labels[keep].cpu().numpy()
        spacing_x, spacing_y = volume.spacing_mm[:2]
        detections = []
        for box, score, label in zip(boxes, scores, labels, strict=True):
            sides = sorted(((box[2] - box[0]) * spacing_x, (box[3] - box[1]) * spacing_y))
            name = self.classes[label] if label < len(self.classes) else str(label)
            detections.append(
                Detection(tuple(box.tolist()), float(score), name, sides[1], sides[0])
            )
        clip = sample.metainfo.get('clahe_clip_limit')
        grid = sample.metainfo.get('clahe_grid_size')
        return SliceResult(
            source=volume.source,
            slice_name=volume.slice_names[index],
            slice_index=index,
            spacing_mm=volume.spacing_mm,
            clahe_clip_limit=clip,
            clahe_grid_size=grid,
            detections=detections,
            display=display,
        )

    def __call__(
        self,
        inputs: str | Path | Sequence[str | Path],
        slice_indices: list[int] | None = None,
        spacing_mm: Spacing | None = None,
        dl_info: str | Path | None = None,
        batch_size: int = 8,
        out_dir: str | Path | None = None,
    ) -> list[SliceResult]:
        """Detect lesions on every slice of ``inputs``.

        Args:
            inputs: one or several CT inputs (see :func:`~.load_ct.load_ct_input`): a DICOM file
                or series folder, a DeepLesion PNG or series folder, a NIfTI volume.
            slice_indices: slices of a folder or volume to detect on (default: all).
            spacing_mm, dl_info: spacing for PNG input (see :func:`~.load_ct.load_ct_volume`).
            batch_size: slices per forward pass.
            out_dir: also write ``predictions.json`` and one PNG per slice there
                (:func:`~mmlesion.visualization.draw_detections`).

        Returns:
            One :class:`SliceResult` per slice, in input order.
        """
        if isinstance(inputs, (str, Path)):
            inputs = [inputs]
        results: list[SliceResult] = []
        for path in inputs:
            volume, indices = load_ct_input(path, slice_indices, spacing_mm, dl_info)
            for start in range(0, len(indices), batch_size):
                chunk = indices[start : start + batch_size]
                outputs = self._run([self._item(volume, i) for i in chunk])
                results.extend(
                    self._result(volume, index, sample, display)
                    for index, (sample, display) in zip(chunk, outputs, strict=True)
                )
        if out_dir is not None:
            write_results(results, out_dir)
        return results


def _dataset_classes(cfg: Config) -> tuple[str, ...]:
    from mmlesion.datasets import COARSE_LESION_TYPES

    dataset = cfg.test_dataloader.dataset
    if dataset.get('metainfo', {}).get('classes'):
        return tuple(dataset.metainfo.classes)
    if dataset.get('class_mode', 'agnostic') == 'coarse_type':
        return COARSE_LESION_TYPES
    return ('lesion',)


def write_results(results: Sequence[SliceResult], out_dir: str | Path) -> None:
    """``predictions.json`` (every slice) and ``<source>_<slice>.png`` (enhanced slice with
    its boxes and the chosen parameters) into ``out_dir``."""
    from mmlesion.visualization import draw_detections

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records = [r.to_dict() for r in results]
    (out_dir / 'predictions.json').write_text(json.dumps(records, indent=2, default=float))
    for result in results:
        stem = f'{Path(result.source).stem}_{Path(result.slice_name).stem}'
        stem = stem.replace('[', '_').replace(']', '')
        draw_detections(result, out_dir / f'{stem}.png')
