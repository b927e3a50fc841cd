"""``DeepLesionMetric``: COCO mAP, lesion-size and liver breakdowns, and the DeepLesion FROC."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
from mmdet.registry import METRICS
from mmdet.structures.bbox import BaseBoxes
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement

from mmlesion.datasets.dl_info import LIVER_TYPE, UNLABELLED_TYPE

from ..functional import FROCProtocol, coco_map, deeplesion_froc, get_froc_protocol
from ..functional._inputs import (
    EXPECTED,
    as_array,
    as_boxes,
    check_fp_rates,
    check_iou_thr,
    finite_ordered_boxes,
    finite_rows,
)


@METRICS.register_module()
class DeepLesionMetric(BaseMetric):
    """Lesion detection metrics on DeepLesion: COCO mAP with breakdowns, and the FROC.

    Ground truth comes from each data sample's ``gt_instances`` (``bboxes``, ``labels``) and,
    when present, ``ignored_instances`` (ignore regions), as in mmdet's ``VOCMetric``: no
    annotation file is needed. Ground truth and predictions are expected in the same, original
    image pixel coordinates ``(x1, y1, x2, y2)``. Ignore regions count neither for nor against a
    detector: COCO crowd boxes in the mAP, neither hit nor miss in the FROC.

    Optional metainfo of a sample, aligned with its ``gt_instances``; each is used when present:

    - ``lesion_types``: ``(M,)`` DeepLesion coarse lesion type of each lesion, 1..8, -1 unlabelled
      (liver = 4).
    - ``lesion_diameters_mm``: ``(M,)`` RECIST long diameter of each lesion, mm (or ``(M, 2)``
      long and short diameters); NaN where unknown.
    - ``spacing_mm``: ``(x, y[, z])`` mm per pixel of the image the boxes are in, i.e. the
      original one (and the slice interval, unused). Only the size buckets use it.
    - ``possibly_noisy``: whether the key slice holds a ``Possibly_noisy`` row. Protocols that
      remove noisy rows (``'3dce'``, ``'mulan'``) refuse a sample that has one.

    Reported keys, all prefixed ``deeplesion/`` (``default_prefix``), all floats in ``[0, 1]`` or
    NaN where undefined (see below):

    - ``mAP``, ``AP50``, ``AP75``: pycocotools' COCOeval AP@[.50:.95], @.50 and @.75 (maxDets 100
      per image and class); ``mAP`` equals ``COCOeval.stats[0]`` with default parameters. It is
      the model-selection key, ``deeplesion/mAP``.
    - ``mAP_small``, ``mAP_medium``, ``mAP_large``: AP@[.50:.95] of lesions whose RECIST long
      diameter ``d`` is ``d < 10 mm``, ``10 <= d < 30 mm`` and ``d >= 30 mm``
      (``size_thresholds_mm``, the DeepLesion papers' buckets). They reuse COCOeval's area ranges
      with a diameter in mm in place of the area: a lesion's size is ``lesion_diameters_mm``, else
      its box's long side times the pixel spacing, else the long side in pixels (with a warning);
      a detection's size is its box's long side in mm (pixels without spacing), so that, as in
      COCO, an unmatched detection outside a bucket does not count against it. The buckets are
      half-open as stated (COCO's own ranges are closed).
    - ``AP_<class>``: AP@[.50:.95] of each class of ``dataset_meta['classes']`` (coarse-type mode,
      i.e. more than one class, or ``classwise=True``); NaN for a class without ground truth.
    - ``sens@0.5``, ``sens@1``, ``sens@2``, ``sens@4``, ``sens@8``, ``sens@16`` (``fps``):
      FROC sensitivity at that many false positives per image, DeepLesion protocol
      (:func:`~mmlesion.evaluation.functional.deeplesion_froc`): class-agnostic, detections of all
      images pooled and sorted by score (ties keep the data order), hit = overlap
      ``>= iou_thr`` (IoU, or IoBB with ``overlap='iobb'``), ignore regions neither hit
      nor miss. The ``protocol`` sets the box size convention, how the curve is read and the
      default rates (:mod:`~mmlesion.evaluation.functional.froc_protocols`). NaN at an FP rate
      the protocol does not read (``'mmlesion'``: one the detections never reach, e.g. all
      when there is no false positive), or when there is no lesion or no detection.
    - ``avg_sens``: mean of the sensitivities at ``avg_sens_fps`` (0.5, 1, 2, 4; ``'mp3d'``:
      0.5, 1, 2, 3, 4, 8), the literature's "average sensitivity". NaN when any of them is NaN:
      an average over the rates that were reached would not be comparable with published
      numbers.
    - ``liver_mAP``, ``liver_AP50``, ``liver_avg_sens``: the same on the liver subset, i.e. the
      images with at least one liver lesion, where only liver lesions are ground truth and the
      other lesions are ignore regions (COCO crowd boxes; in the FROC neither hit nor miss). A
      lesion is a liver lesion by ``lesion_types == 4``, else, without ``lesion_types``, by the
      label of class ``'liver'`` when the classes have one. The subset is scored
      class-agnostically, like the FROC: it asks how well liver lesions are found whatever class
      they are given (``AP_liver`` is the class-aware view). The keys are always reported, NaN
      when the evaluated set has no liver lesion, so that every run logs the same keys.

    Args:
        fps: false positives per image at which to report the FROC sensitivity; None: the
            protocol's.
        avg_sens_fps: FP rates averaged into ``avg_sens`` and ``liver_avg_sens``; None: the
            protocol's.
        iou_thr: minimum overlap of a FROC hit (the mAP keeps COCO's IoU thresholds).
        overlap: FROC overlap, ``'iou'`` or ``'iobb'`` (intersection over the detected box's
            area, as in the DeepLesion evaluation code).
        size_thresholds_mm: ``(t1, t2)``, lesion long-diameter bounds of the size buckets, mm.
        classwise: report ``AP_<class>``; None: when ``dataset_meta`` has more than one class.
        protocol: the FROC's published convention: ``'mmlesion'`` (default; continuous boxes,
            top of each vertical step), ``'3dce'``, ``'mulan'`` (AlignShift, A3D) or ``'mp3d'``
            (:data:`~mmlesion.evaluation.functional.FROC_PROTOCOLS`). ``'3dce'`` and ``'mulan'``
            evaluate without ``Possibly_noisy`` rows: give them a dataset built with
            ``noisy_lesions='drop'`` and ``possibly_noisy`` among the meta keys.
        collect_device: ``'cpu'`` or ``'gpu'``, where results are gathered in distributed runs.
        prefix: key prefix; None: ``'deeplesion'``.
    """

    default_prefix: str | None = 'deeplesion'

    def __init__(
        self,
        fps: Sequence[float] | None = None,
        avg_sens_fps: Sequence[float] | None = None,
        iou_thr: float = 0.5,
        overlap: str = 'iou',
        size_thresholds_mm: tuple[float, float] = (10, 30),
        classwise: bool | None = None,
        protocol: str | FROCProtocol = 'mmlesion',
        collect_device: str = 'cpu',
        prefix: str | None = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if overlap not in ('iou', 'iobb'):
            raise ValueError(f"overlap must be 'iou' or 'iobb', got {overlap!r}")
        small_max, large_min = size_thresholds_mm
        if not 0 < small_max < large_min:
            raise ValueError(f'size_thresholds_mm must be 0 < t1 < t2, got {size_thresholds_mm}')
        self.protocol = get_froc_protocol(protocol)
        if fps is None:
            fps = self.protocol.fps
        if avg_sens_fps is None:
            avg_sens_fps = self.protocol.avg_sens_fps
        self.fps = tuple(check_fp_rates(fps, 'fps').tolist())
        self.avg_sens_fps = tuple(check_fp_rates(avg_sens_fps, 'avg_sens_fps').tolist())
        self.iou_thr = check_iou_thr(iou_thr)
        self.overlap = overlap
        self.size_thresholds_mm = (float(small_max), float(large_min))
        self.classwise = classwise
        self._warned_pixels = False
        self._warned_noisy = False

    def process(self, data_batch: dict | None, data_samples: Sequence[dict]) -> None:
        """Keep each sample's ground truth, predictions and lesion metainfo as CPU numpy arrays.

        A result holds ``gt_bboxes`` ``(M + K, 4)``, ``gt_labels`` and ``gt_ignore`` ``(M + K,)``
        (the ``M`` lesions of ``gt_instances``, then the ``K`` ignore regions), ``pred_bboxes``
        ``(N, 4)``, ``pred_scores`` and ``pred_labels`` ``(N,)``, and, when given,
        ``lesion_types`` and ``lesion_diameters_mm`` ``(M + K,)`` (-1 and NaN for ignore regions)
        and ``spacing_mm``.

        Args:
            data_batch: the model's input batch (unused).
            data_samples: ``DetDataSample``\\ s, or their ``to_dict()`` as the evaluator passes
                them, with ``gt_instances`` and ``pred_instances``.
        """
        for sample in data_samples:
            if isinstance(sample, BaseDataElement):
                sample = sample.to_dict()
            gt, pred = sample['gt_instances'], sample['pred_instances']
            lesion_boxes = _boxes(gt['bboxes'])
            ignored = sample.get('ignored_instances', {})
            ignored_boxes = _boxes(ignored.get('bboxes', np.zeros((0, 4))))
            num_lesions, num_ignored = len(lesion_boxes), len(ignored_boxes)
            result = {
                'gt_bboxes': np.vstack([lesion_boxes, ignored_boxes]),
                'gt_labels': np.r_[
                    as_array(gt['labels'], np.int64).reshape(-1),
                    as_array(ignored.get('labels', np.zeros(num_ignored)), np.int64).reshape(-1),
                ],
                'gt_ignore': np.r_[np.zeros(num_lesions, bool), np.ones(num_ignored, bool)],
                'pred_bboxes': _boxes(pred['bboxes']),
                'pred_scores': as_array(pred['scores'], np.float64).reshape(-1),
                'pred_labels': as_array(pred['labels'], np.int64).reshape(-1),
            }
            for key, pad in (('lesion_types', UNLABELLED_TYPE), ('lesion_diameters_mm', np.nan)):
                if sample.get(key) is not None:
                    values = _per_lesion(sample, key, num_lesions)
                    result[key] = np.r_[values, np.full(num_ignored, pad)]
            if sample.get('spacing_mm') is not None:
                result['spacing_mm'] = as_array(sample['spacing_mm'], np.float64).reshape(-1)
            if self.protocol.drop_noisy:
                self._check_not_noisy(sample)
            _check_finite(result, sample)
            self.results.append(result)

    def _check_not_noisy(self, sample: dict) -> None:
        """Refuse a key slice with a ``Possibly_noisy`` row under a protocol that removes them;
        warn once when the samples do not say."""
        if sample.get('possibly_noisy') is None:
            if not self._warned_noisy:
                print_log(
                    f'DeepLesionMetric(protocol={self.protocol.name!r}): the samples carry no '
                    "'possibly_noisy' meta key, so it cannot check that Possibly_noisy rows were "
                    "removed as the protocol requires (add it to PackDetInputs' meta_keys, and "
                    "noisy_lesions='drop' to the dataset).",
                    logger='current',
                    level=logging.WARNING,
                )
                self._warned_noisy = True
        elif bool(sample['possibly_noisy']):
            raise ValueError(
                f'DeepLesionMetric(protocol={self.protocol.name!r}) evaluates without '
                'Possibly_noisy rows, as its reference code does, but '
                f'{sample.get("img_path", "a sample")} holds one: build the evaluated dataset '
                "with noisy_lesions='drop' (e.g. --cfg-options "
                'test_dataloader.dataset.noisy_lesions=drop).'
            )

    def compute_metrics(self, results: list[dict]) -> dict[str, float]:
        """Compute every metric of the class docstring from the collected ``results``."""
        classes = tuple((self.dataset_meta or {}).get('classes', ()))
        classwise = len(classes) > 1 if self.classwise is None else self.classwise
        det_boxes = [r['pred_bboxes'] for r in results]
        det_scores = [r['pred_scores'] for r in results]
        gt_boxes = [r['gt_bboxes'] for r in results]
        gt_ignore = [r['gt_ignore'] for r in results]
        gt_sizes, det_sizes, in_pixels = _sizes_mm(results)
        if in_pixels and not self._warned_pixels:
            print_log(
                'DeepLesionMetric: some samples have no spacing_mm; for mAP_small/medium/large '
                'their box sizes (detections, lesions without lesion_diameters_mm) are long '
                'sides in pixels, not mm.',
                logger='current',
                level=logging.WARNING,
            )
            self._warned_pixels = True
        small_max, large_min = self.size_thresholds_mm
        # COCO's ranges are closed; stopping just below a threshold makes the buckets half-open.
        size_ranges = {
            'small': (0.0, np.nextafter(small_max, 0)),
            'medium': (small_max, np.nextafter(large_min, 0)),
            'large': (large_min, math.inf),
        }

        coco = coco_map(
            det_boxes,
            det_scores,
            [r['pred_labels'] for r in results],
            gt_boxes,
            [r['gt_labels'] for r in results],
            gt_ignore=gt_ignore,
            num_classes=len(classes) or None,
            gt_sizes=gt_sizes,
            det_sizes=det_sizes,
            size_ranges=size_ranges,
            classwise=classwise,
        )
        metrics = {key: coco[key] for key in ('mAP', 'AP50', 'AP75')}
        metrics.update({f'mAP_{name}': coco[f'mAP_{name}'] for name in size_ranges})
        if classwise:
            per_class = coco['per_class_AP']
            names = classes or [str(k) for k in range(len(per_class))]
            metrics.update({f'AP_{name}': ap for name, ap in zip(names, per_class, strict=True)})

        rates = sorted(set(self.fps) | set(self.avg_sens_fps))
        sens = self._froc(det_boxes, det_scores, gt_boxes, gt_ignore, rates)
        sens = dict(zip(rates, sens, strict=True))
        metrics.update({f'sens@{fp:g}': sens[fp] for fp in self.fps})
        # np.mean propagates NaN: no average over a subset of the rates.
        metrics['avg_sens'] = np.mean([sens[fp] for fp in self.avg_sens_fps])
        metrics.update(self._liver_metrics(results, classes))
        return {key: float(value) for key, value in metrics.items()}

    def _froc(
        self,
        det_boxes: list[np.ndarray],
        det_scores: list[np.ndarray],
        gt_boxes: list[np.ndarray],
        gt_ignore: list[np.ndarray],
        fps: Sequence[float],
    ) -> np.ndarray:
        return deeplesion_froc(
            det_boxes,
            det_scores,
            gt_boxes,
            fps=fps,
            iou_thr=self.iou_thr,
            overlap=self.overlap,
            gt_ignore=gt_ignore,
            protocol=self.protocol,
        )

    def _liver_metrics(self, results: list[dict], classes: Sequence[str]) -> dict[str, float]:
        """``liver_mAP``, ``liver_AP50``, ``liver_avg_sens`` on the images with a liver lesion."""
        subset = []
        for r in results:
            if 'lesion_types' in r:
                is_liver = r['lesion_types'] == LIVER_TYPE
            elif 'liver' in classes:
                is_liver = r['gt_labels'] == classes.index('liver')
            else:
                continue
            is_liver &= ~r['gt_ignore']
            if is_liver.any():
                subset.append((r, ~is_liver))
        if not subset:
            return dict.fromkeys(('liver_mAP', 'liver_AP50', 'liver_avg_sens'), math.nan)

        det_boxes = [r['pred_bboxes'] for r, _ in subset]
        det_scores = [r['pred_scores'] for r, _ in subset]
        gt_boxes = [r['gt_bboxes'] for r, _ in subset]
        gt_ignore = [ignore for _, ignore in subset]
        coco = coco_map(
            det_boxes,
            det_scores,
            [np.zeros(len(boxes), np.int64) for boxes in det_boxes],
            gt_boxes,
            [np.zeros(len(boxes), np.int64) for boxes in gt_boxes],
            gt_ignore=gt_ignore,
            num_classes=1,
        )
        sens = self._froc(det_boxes, det_scores, gt_boxes, gt_ignore, self.avg_sens_fps)
        return {
            'liver_mAP': coco['mAP'],
            'liver_AP50': coco['AP50'],
            'liver_avg_sens': np.mean(sens),
        }


def _check_finite(result: dict, sample: dict) -> None:
    """Refuse a sample whose predicted boxes or scores are NaN or infinite, or whose ground
    truth is NaN, infinite or flipped, naming its image.

    Refused rather than dropped: a NaN prediction means the model (or the enhancer in front of
    it) diverged, and pycocotools would score the NaN box as a hit.
    """
    image = sample.get('img_path', 'a sample without img_path')
    checks = (
        ('pred_bboxes', 'predicted box', finite_rows),
        ('pred_scores', 'predicted score', finite_rows),
        ('gt_bboxes', 'ground-truth box', finite_ordered_boxes),
    )
    for key, what, is_valid in checks:
        bad = ~is_valid(result[key])
        if bad.any():
            index = int(np.argmax(bad))
            raise ValueError(
                f'DeepLesionMetric: {image}: {what} {index} is {result[key][index].tolist()}: '
                f'expected {EXPECTED[is_valid]} ({int(bad.sum())} of {len(bad)} fail)'
            )


def _sizes_mm(results: list[dict]) -> tuple[list[np.ndarray], list[np.ndarray], bool]:
    """Per image, the size of each ground-truth box (lesions then ignore regions) and of each
    detection for the size buckets: a long diameter in mm (see the class docstring). The flag
    says whether some sample had no ``spacing_mm``, so that box sizes fell back to pixels."""
    gt_sizes, det_sizes = [], []
    in_pixels = False
    for r in results:
        spacing = r.get('spacing_mm')
        if spacing is not None and not np.isfinite(spacing[:2]).all():
            spacing = None  # unknown spacing: sizes in pixels, as without one
        in_pixels |= spacing is None
        scale = (1.0, 1.0) if spacing is None else (spacing[0], spacing[1])
        box_sizes = _long_side(r['gt_bboxes'], scale)
        diameters = r.get('lesion_diameters_mm', box_sizes)
        gt_sizes.append(np.where(np.isnan(diameters), box_sizes, diameters))
        det_sizes.append(_long_side(r['pred_bboxes'], scale))
    return gt_sizes, det_sizes, in_pixels


def _boxes(boxes) -> np.ndarray:
    """``(K, 4)`` float64 numpy boxes from a tensor, mmdet ``BaseBoxes`` or array."""
    if isinstance(boxes, BaseBoxes):
        boxes = boxes.tensor
    return as_boxes(boxes, 'bboxes')


def _long_side(boxes: np.ndarray, spacing_mm: tuple[float, float]) -> np.ndarray:
    """``(K,)`` longer side of each ``(K, 4)`` box, in mm for the given ``(x, y)`` spacing."""
    return np.maximum(
        (boxes[:, 2] - boxes[:, 0]) * spacing_mm[0], (boxes[:, 3] - boxes[:, 1]) * spacing_mm[1]
    )


def _per_lesion(sample: dict, key: str, num_gts: int) -> np.ndarray:
    """``(num_gts,)`` float64 metainfo ``sample[key]``, the first column of a 2-D one."""
    values = as_array(sample[key], np.float64)
    values = values[:, 0] if values.ndim == 2 else values.reshape(-1)
    if len(values) != num_gts:
        raise ValueError(
            f'{key} must have one entry per gt_instances box ({num_gts}), got {len(values)} in '
            f'{sample.get("img_path", "a sample")}'
        )
    return values
