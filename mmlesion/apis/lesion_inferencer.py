"""Lesion detection on clinical CT: a trained detector, optionally behind a learned enhancer."""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.logging import print_log
from mmengine.registry import init_default_scope
from tqdm import tqdm

from mmlesion.datasets.provenance import training_data_of
from mmlesion.models.detectors.frozen_detector_enhancer import (
    DETECTOR_CHECKPOINT_NONE_WARNING,
    NORMALISATION_AND_PADDING,
)
from mmlesion.models.regressors import enhancer_preprocessor_config
from mmlesion.models.regressors.regressor_checkpoint import REGRESSOR_PREFIX
from mmlesion.utils.atomic_write import atomic_write_json
from mmlesion.utils.checkpoint_loading import read_checkpoint, state_dict_of

from .ct_volume import CTVolume, Spacing, fill_non_finite
from .dicom_reader import Rescale
from .load_ct import has_spacing, load_ct_input
from .operating_points import operating_points_path, read_operating_point
from .predictions_json import predictions_document, slice_id

#: Pipeline steps that read DeepLesion files or annotations: the inferencer does that itself.
_LOADING_TRANSFORMS = ('LoadDeepLesionSlices', 'LoadAnnotations')
#: The longest side, in pixels, a slice may be resampled to: 4096 pixels of 0.8 mm span 3.3 m.
#: A larger one means a wrong spacing (e.g. 100 mm pixels), and would take gigabytes.
MAX_RESAMPLED_SIDE = 4096
#: The score threshold without ``score_thr`` or ``fp_per_image``: not tied to an operating point.
DEFAULT_SCORE_THR = 0.3


def check_score_thr(score_thr: float) -> float:
    """``score_thr`` as a float in ``[0, 1]``, the range of the detector's scores: NaN would
    drop every detection without a word (no score compares ``>=`` NaN)."""
    value = float(score_thr)
    if not 0 <= value <= 1:  # False for NaN
        raise ValueError(f'score_thr (--score-thr) must lie in [0, 1], got {score_thr!r}')
    return value


@dataclass(frozen=True)
class Detection:
    """One detected lesion, in the original slice's pixels.

    ``bbox_px`` is ``(x1, y1, x2, y2)``, 0-based continuous pixel coordinates of the slice as
    read (x right, y down; ``x2``/``y2`` exclusive, width ``x2 - x1``), as mmdet's boxes.

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
    """What the inferencer found on one slice, with the enhancement it chose.

    ``source`` (the input's path) and ``slice_name`` (the slice's file name, or
    ``'<volume>[<index>]'``) go into the outputs only when asked (``record_paths``): they may
    carry a patient's name. ``input_index`` (the input's position among the inputs) and
    ``slice_index`` identify the slice without them.
    """

    source: str
    slice_name: str
    slice_index: int
    spacing_mm: Spacing
    clahe_clip_limit: float | None
    clahe_grid_size: float | None
    detections: list[Detection] = field(default_factory=list)
    #: The blend gate's weight of the enhancement in [0, 1] (a gated enhancer), else None.
    clahe_alpha: float | None = None
    #: The CT-native enhancer's window level offset (HU), window width scale and denoising
    #: strength in [0, 1] (``WindowDenoisePreprocessor``), else None.
    window_level_offset_hu: float | None = None
    window_width_scale: float | None = None
    denoise_strength: float | None = None
    #: NaN/Inf voxels of this slice, set to air before detection
    #: (:func:`~.ct_volume.fill_non_finite`).
    non_finite_voxels: int = 0
    #: The key slice as the detector saw it (after windowing and enhancement), ``(H, W)`` in
    #: [0, 1] in the original pixels; kept out of the JSON.
    display: np.ndarray | None = field(default=None, repr=False, compare=False)
    #: Which of the inferencer's inputs the slice comes from, 0-based.
    input_index: int = 0


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
    cfg: Config,
    checkpoint: str,
    enhancer_checkpoint: str | None,
    enhancer_config: str | None,
    read: dict[str, dict],
) -> tuple[dict, str | None]:
    """A ``FrozenDetectorEnhancer`` config around the detector of ``cfg``, without weights, and
    the checkpoint its regressor's weights come from (None: no learned enhancer).

    Args:
        read: every checkpoint file named, read once: ``{path: checkpoint dict}``.

    Raises:
        ValueError: ``checkpoint`` of a detector config holds a trained enhancer while no
            ``enhancer_checkpoint`` is given: detecting with its detector alone would drop the
            enhancement without a word.
    """
    if cfg.model.type == 'FrozenDetectorEnhancer':
        model = copy.deepcopy(cfg.model).to_dict()
        model.update(detector_checkpoint=None, enhancer_checkpoint=None)
        learned = model['data_preprocessor'].get('mode', 'learned') == 'learned'
        # A whole enhancer checkpoint holds the detector and, in learned mode, the regressor.
        return model, enhancer_checkpoint or (checkpoint if learned else None)
    weights = state_dict_of(read[checkpoint], checkpoint)
    if enhancer_checkpoint is None and any(k.startswith(REGRESSOR_PREFIX) for k in weights):
        raise ValueError(
            f'{checkpoint} is a trained enhancer (it holds {REGRESSOR_PREFIX}* weights), but '
            f'{cfg.filename} is a detector config: give the enhancer config as --config, or '
            'give this file as --enhancer-checkpoint beside the detector checkpoint'
        )
    if enhancer_checkpoint is None:
        preprocessor = {'type': 'AdaptiveCLAHEPreprocessor', 'mode': 'identity'}
    elif enhancer_config is not None:
        preprocessor = Config.fromfile(enhancer_config).model.data_preprocessor.to_dict()
    else:
        preprocessor = enhancer_preprocessor_config(read[enhancer_checkpoint], enhancer_checkpoint)
    # This detector's own normalisation and padding, not those of the enhancer's detector.
    for key in NORMALISATION_AND_PADDING:
        preprocessor.pop(key, None)
    model = {
        'type': 'FrozenDetectorEnhancer',
        'detector': cfg.model,
        'detector_checkpoint': None,
        'enhancer_checkpoint': None,
        'data_preprocessor': preprocessor,
    }
    return model, enhancer_checkpoint


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
        config: a detector config, or an enhancer (``FrozenDetectorEnhancer``) config (a file
            or a loaded :class:`~mmengine.config.Config`).
        checkpoint: the detector's checkpoint; with an enhancer config, the trained enhancer's
            checkpoint (it holds the detector and the regressor).
        enhancer_checkpoint: a trained enhancer: its regressor chooses (clip limit, grid size)
            per slice. Its preprocessor config is read from the checkpoint (mmengine stores the
            training config in it) unless ``enhancer_config`` is given. None with a detector
            config: no enhancement.
        enhancer_config: the enhancer's config file, when the checkpoint carries none.
        device: ``'cpu'``, ``'cuda'``...; default CUDA when available.
        score_thr: detections below this score are dropped; an explicit threshold, used in
            place of ``fp_per_image``'s. None: from ``fp_per_image``, else
            :data:`DEFAULT_SCORE_THR`.
        fp_per_image: the operating point, in false positives per image on the validation
            split: its score threshold is read from the checkpoint's sidecar
            (:mod:`.operating_points`; ``tools/analysis_tools/operating_point.py`` writes it).

    Raises:
        FileNotFoundError, ValueError: ``fp_per_image`` without a sidecar holding it for these
            weights (:func:`~.operating_points.read_operating_point`).
    """

    def __init__(
        self,
        config: str | Config,
        checkpoint: str,
        enhancer_checkpoint: str | None = None,
        enhancer_config: str | None = None,
        device: str | None = None,
        score_thr: float | None = None,
        fp_per_image: float | None = None,
    ) -> None:
        from mmdet.registry import MODELS

        import mmlesion.models  # noqa: F401  (registration)

        self.cfg = config if isinstance(config, Config) else Config.fromfile(config)
        init_default_scope(self.cfg.get('default_scope', 'mmdet'))
        self.device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
        self.checkpoints = {'checkpoint': checkpoint, 'enhancer_checkpoint': enhancer_checkpoint}
        self.operating_point = _operating_point(self.checkpoints, score_thr, fp_per_image)
        self.score_thr = self.operating_point['score_thr']
        # Each file is read once; the model is built without weights, then given them.
        read = {
            path: read_checkpoint(path, map_location='cpu')
            for path in dict.fromkeys(p for p in (checkpoint, enhancer_checkpoint) if p)
        }
        model_cfg, regressor_source = _enhancer_model_config(
            self.cfg, checkpoint, enhancer_checkpoint, enhancer_config, read
        )
        with warnings.catch_warnings():
            # Its warning about a random detector: the weights are loaded just below.
            warnings.filterwarnings('ignore', message=DETECTOR_CHECKPOINT_NONE_WARNING)
            self.model = MODELS.build(model_cfg)
        self.model.load_detector_weights(read[checkpoint], checkpoint)
        if regressor_source is not None:
            self.model.load_regressor_weights(read[regressor_source], regressor_source)
        self.model.to(self.device).eval()
        # The one place the weights' provenance is read (each checkpoint's meta.training_data).
        self.training_data = {
            role: training_data_of(read[path])
            for role, path in self.checkpoints.items()
            if path is not None
        }
        self.warnings = _provenance_warnings(self.training_data)
        for warning in self.warnings:
            print_log(warning, logger='current', level=logging.WARNING)
        steps, self.slice_settings = _strip_loading(self.cfg.test_dataloader.dataset.pipeline)
        self.pipeline = Compose(steps)
        self.resampling = [step for step in steps if step['type'] == 'RescaleToSpacing']
        self.needs_spacing = bool(self.resampling)
        self.classes = _dataset_classes(self.cfg)

    def _item(self, volume: CTVolume, index: int) -> dict:
        if self.needs_spacing and not has_spacing(volume.spacing_mm):
            raise ValueError(
                f'{volume.source}: the pixel spacing is unknown, but this config resamples to a '
                'fixed spacing in mm; give spacing_mm=(x, y, z) or a DL_info.csv'
            )
        self._check_resampled_size(volume)
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

    def _check_resampled_size(self, volume: CTVolume) -> None:
        """Refuse a spacing that would resample a slice past :data:`MAX_RESAMPLED_SIDE`."""
        height, width = volume.hu.shape[1:]
        for step in self.resampling:
            if step.get('max_size') is not None:
                continue
            target = step.get('target_spacing_mm', 0.8)
            side = max(width * volume.spacing_mm[0], height * volume.spacing_mm[1]) / target
            if side > MAX_RESAMPLED_SIDE:
                raise ValueError(
                    f'{volume.source}: pixel spacing {volume.spacing_mm[:2]} mm resampled to '
                    f'{target} mm would make a slice {side:.0f} pixels wide (limit '
                    f'{MAX_RESAMPLED_SIDE}); check the spacing (CT pixels are usually 0.3-1.5 mm)'
                )

    def run_info(self, record_paths: bool = False) -> dict:
        """The run's ``model`` (file names, training data), ``operating_point`` and
        ``warnings``, as ``predictions.json`` gives them. Training data roots are given only
        with ``record_paths``."""

        def training_data(record: dict | None) -> dict | None:
            if record is None or record_paths:
                return record
            return {k: v for k, v in record.items() if k not in ('data_root', 'ann_file')}

        model = {
            'config': Path(self.cfg.filename).name,
            **{
                role: None if path is None else Path(path).name
                for role, path in self.checkpoints.items()
            },
            'training_data': {
                role: training_data(record) for role, record in self.training_data.items()
            },
        }
        return {'model': model, 'operating_point': self.operating_point, 'warnings': self.warnings}

    @torch.no_grad()
    def predict_packed(self, items: list[dict]) -> list:
        """The model's data samples (``pred_instances`` in the original pixels, every score
        the detector's ``test_cfg`` keeps) for items packed by a test pipeline."""
        data = self.model.data_preprocessor(pseudo_collate(items), False)
        return self.model.predict(data['inputs'], data['data_samples'])

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

    def _result(
        self,
        volume: CTVolume,
        index: int,
        sample,
        display: np.ndarray,
        non_finite: int,
        input_index: int,
    ) -> SliceResult:
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
        enhancement = {
            key: sample.metainfo.get(key)
            for key in (
                'clahe_clip_limit',
                'clahe_grid_size',
                'clahe_alpha',
                'window_level_offset_hu',
                'window_width_scale',
                'denoise_strength',
            )
        }
        return SliceResult(
            source=volume.source,
            slice_name=volume.slice_names[index],
            slice_index=index,
            spacing_mm=volume.spacing_mm,
            **enhancement,
            detections=detections,
            non_finite_voxels=non_finite,
            display=display,
            input_index=input_index,
        )

    def __call__(
        self,
        inputs: str | Path | Sequence[str | Path],
        slice_indices: list[int] | None = None,
        spacing_mm: Spacing | None = None,
        dl_info: str | Path | None = None,
        batch_size: int = 8,
        out_dir: str | Path | None = None,
        series_uid: str | None = None,
        rescale: Rescale | None = None,
        progress: bool = False,
        record_paths: bool = False,
    ) -> list[SliceResult]:
        """Detect lesions on every slice of ``inputs``.

        Args:
            inputs: one or several CT inputs (see :func:`~.load_ct.load_ct_input`): a DICOM file
                or series folder, a DeepLesion PNG or series folder, a NIfTI volume.
            slice_indices: slices of a folder or volume to detect on (default: all).
            spacing_mm, dl_info: spacing for PNG input (see :func:`~.load_ct.load_ct_volume`).
            batch_size: slices per forward pass.
            out_dir: also write ``predictions.json`` and one PNG per slice there
                (:func:`write_results`).
            series_uid: the DICOM series of a folder holding several.
            rescale: ``(slope, intercept)`` for DICOM headers without them.
            progress: show a progress bar per input (on stderr).
            record_paths: name the inputs (paths, slice file names) in the files written to
                ``out_dir``; by default they name none (a name may carry a patient's).

        Returns:
            One :class:`SliceResult` per slice, in input order. NaN/Inf voxels are set to air
            first, with a warning naming their slices (``non_finite_voxels`` counts them).
        """
        if isinstance(inputs, (str, Path)):
            inputs = [inputs]
        if batch_size < 1:
            raise ValueError(f'batch_size must be at least 1, got {batch_size}')
        results: list[SliceResult] = []
        for input_index, path in enumerate(inputs):
            volume, indices = load_ct_input(
                path, slice_indices, spacing_mm, dl_info, series_uid, rescale
            )
            volume, non_finite = fill_non_finite(volume)
            bar = tqdm(total=len(indices), desc=Path(path).name, unit='slice', disable=not progress)
            for start in range(0, len(indices), batch_size):
                chunk = indices[start : start + batch_size]
                outputs = self._run([self._item(volume, i) for i in chunk])
                results.extend(
                    self._result(
                        volume, index, sample, display, non_finite.get(index, 0), input_index
                    )
                    for index, (sample, display) in zip(chunk, outputs, strict=True)
                )
                bar.update(len(chunk))
            bar.close()
        if out_dir is not None:
            write_results(results, out_dir, self.run_info(record_paths), record_paths)
        return results


def _operating_point(
    checkpoints: dict[str, str | None], score_thr: float | None, fp_per_image: float | None
) -> dict:
    """The ``operating_point`` of ``predictions.json``: the score threshold and how it was
    chosen (``'score_thr'`` given, ``'fp_per_image'`` read from the sidecar, ``'default'``)."""
    if score_thr is not None:
        return {'chosen_by': 'score_thr', 'score_thr': check_score_thr(score_thr)}
    if fp_per_image is not None:
        path = operating_points_path(**checkpoints)
        return read_operating_point(fp_per_image, checkpoints, path)
    return {'chosen_by': 'default', 'score_thr': DEFAULT_SCORE_THR}


def _provenance_warnings(training_data: dict[str, dict | None]) -> list[str]:
    """One warning per checkpoint trained on synthetic data, one note per checkpoint that
    does not say what it was trained on."""
    messages = []
    for role, record in training_data.items():
        if record is None:
            messages.append(
                f'training data unknown: the {role} carries no meta.training_data (saved '
                'before DataProvenanceHook or outside a Runner); check where its weights come from'
            )
        elif record.get('synthetic'):
            messages.append(
                f'the {role} was trained on SYNTHETIC data ({record.get("dataset")}): its '
                'detections on patient CT are not validated and mean nothing clinically'
            )
    return messages


def _dataset_classes(cfg: Config) -> tuple[str, ...]:
    from mmlesion.datasets import COARSE_LESION_TYPES

    dataset = cfg.test_dataloader.dataset
    if dataset.get('metainfo', {}).get('classes'):
        return tuple(dataset.metainfo.classes)
    if dataset.get('class_mode', 'agnostic') == 'coarse_type':
        return COARSE_LESION_TYPES
    return ('lesion',)


def output_stems(results: Sequence[SliceResult], record_paths: bool = False) -> list[str]:
    """One PNG file stem per result, never the same twice.

    By default the opaque :func:`~.predictions_json.slice_id` (``i0_s007``: input 0, slice 7),
    which names no input. With ``record_paths``, ``<source>_<slice>``: a slice of a volume file
    (``'ct.nii.gz[7]'``) gives ``ct_007``, a file in a series folder ``<folder>_<file>``; names
    that still collide (two inputs of the same name in different folders) get ``_2``, ``_3``...
    in input order.
    """
    if not record_paths:
        return [slice_id(r.input_index, r.slice_index) for r in results]
    stems, seen = [], set()
    for result in results:
        source = _without_suffix(Path(result.source).name)
        name = result.slice_name
        if name.endswith(']') and '[' in name:
            slice_part = f'{int(name[name.rindex("[") + 1 : -1]):03d}'
        else:
            slice_part = _without_suffix(Path(name).name)
        stem = f'{source}_{slice_part}'
        unique, copy_number = stem, 1
        while unique in seen:
            copy_number += 1
            unique = f'{stem}_{copy_number}'
        seen.add(unique)
        stems.append(unique)
    return stems


_VOLUME_SUFFIXES = ('.nii.gz', '.nii', '.dcm', '.png')


def _without_suffix(name: str) -> str:
    for suffix in _VOLUME_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def write_results(
    results: Sequence[SliceResult],
    out_dir: str | Path,
    run_info: dict | None = None,
    record_paths: bool = False,
) -> None:
    """``predictions.json`` (:func:`~.predictions_json.predictions_document`: every slice,
    unknown sizes ``null``) and one PNG per slice (the enhanced slice with its boxes and the
    chosen parameters, named by :func:`output_stems`) into ``out_dir``. Neither names an input
    unless ``record_paths``."""
    from mmlesion.visualization import draw_detections

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stems = output_stems(results, record_paths)
    document = predictions_document(
        results, [f'{stem}.png' for stem in stems], run_info, record_paths
    )
    atomic_write_json(out_dir / 'predictions.json', document, indent=2, allow_nan=False)
    for result, stem in zip(results, stems, strict=True):
        title = (
            result.slice_name if record_paths else slice_id(result.input_index, result.slice_index)
        )
        draw_detections(result, out_dir / f'{stem}.png', title=title)
