"""FROC of a lesion detector, following the DeepLesion evaluation protocol.

The protocol is the one of the DeepLesion release and of 3DCE (Yan et al., 2018), class-agnostic:

1. Detections of all images are pooled and sorted by score, highest first. Equal scores keep the
   order in which they were given (image by image, then within an image), so the result is
   deterministic (stable sort).
2. Walking down that list, a detection whose best overlap with the lesions of its image is below
   ``iou_thr`` is a false positive -- unless it overlaps an ignore region by ``iou_thr`` or more,
   in which case it is neither a false nor a true positive. Otherwise every lesion of its image
   that it overlaps by ``iou_thr`` or more and that no earlier detection found becomes found. A
   detection that finds nothing new (a repeat hit) counts as neither.
3. After each detection the curve gets a point (false positives per image, sensitivity), where
   sensitivity = found lesions / all lesions (ignore regions excluded) and the false positives
   are divided by the number of images, images without lesions included.
4. The sensitivity at a given FP rate is read off that curve. With the default protocol,
   ``'mmlesion'``, the curve starts at (0, 0) before the first detection and is read by linear
   interpolation. The curve is a staircase: a false positive moves it right, a found lesion
   moves it up, never both. Between two FP rates on the curve it is flat; at an FP rate it
   reaches, it rises vertically through the lesions found between two false positives, and the
   top of that rise is taken -- the sensitivity reached with at most that many false positives
   per image. An FP rate above the curve's last point was never reached and gives NaN.

With ``'mmlesion'`` boxes are ``(x1, y1, x2, y2)`` in pixels, continuous coordinates: a box's area
is ``(x2 - x1) * (y2 - y1)``, so that the FROC and pycocotools' mAP measure overlap the same way.

The published codes differ in the box size (``+ 1``), in how the curve is read (the bottom of the
rise, extrapolated or held beyond the last point), in the FP rates and in noisy rows: ``protocol=
'3dce'``, ``'mulan'`` and ``'mp3d'`` follow them (:mod:`.froc_protocols` says exactly how, and
which file each follows).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from ._inputs import (
    as_boxes,
    as_vector,
    check_fp_rates,
    check_iou_thr,
    check_num_images,
    check_per_image,
    finite_ordered_boxes,
    finite_rows,
)
from .froc_protocols import FROCProtocol, get_froc_protocol

OVERLAP_MODES: tuple[str, ...] = ('iou', 'iobb')


def box_overlaps(
    dets: np.ndarray, gts: np.ndarray, mode: str = 'iou', box_size_offset: float = 0.0
) -> np.ndarray:
    """Pairwise overlap of detected boxes with ground-truth boxes.

    Args:
        dets: ``(N, 4)`` detected boxes ``(x1, y1, x2, y2)``, pixels.
        gts: ``(M, 4)`` ground-truth boxes, same format.
        mode: ``'iou'`` (intersection over union) or ``'iobb'`` (intersection over the *detected*
            box's area, as in the DeepLesion evaluation code).
        box_size_offset: added to every side length, the intersection's included: 0 for
            continuous boxes, 1 for boxes of inclusive pixel indices (3DCE, MULAN).

    Returns:
        ``(N, M)`` float64 overlaps in ``[0, 1]``; 0 where the denominator is 0.
    """
    dets = np.asarray(dets, dtype=np.float64)
    gts = np.asarray(gts, dtype=np.float64)
    top_left = np.maximum(dets[:, None, :2], gts[None, :, :2])
    bottom_right = np.minimum(dets[:, None, 2:], gts[None, :, 2:])
    wh = np.clip(bottom_right - top_left + box_size_offset, 0, None)
    intersection = wh[..., 0] * wh[..., 1]
    det_area = np.prod(np.clip(dets[:, 2:] - dets[:, :2] + box_size_offset, 0, None), axis=1)
    if mode == 'iou':
        gt_area = np.prod(np.clip(gts[:, 2:] - gts[:, :2] + box_size_offset, 0, None), axis=1)
        denominator = det_area[:, None] + gt_area[None, :] - intersection
    else:
        denominator = np.broadcast_to(det_area[:, None], intersection.shape)
    overlaps = np.zeros_like(intersection)
    np.divide(intersection, denominator, out=overlaps, where=denominator > 0)
    return overlaps


def deeplesion_froc_curve(
    det_boxes: Sequence[ArrayLike],
    det_scores: Sequence[ArrayLike],
    gt_boxes: Sequence[ArrayLike],
    iou_thr: float = 0.5,
    overlap: str = 'iou',
    gt_ignore: Sequence[ArrayLike] | None = None,
    protocol: str | FROCProtocol = 'mmlesion',
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The FROC curve: one point after each detection, in descending score order.

    Args:
        det_boxes: per image, ``(N_i, 4)`` detected boxes ``(x1, y1, x2, y2)``, pixels.
        det_scores: per image, ``(N_i,)`` detection scores (any real scale, higher = surer).
        gt_boxes: per image, ``(M_i, 4)`` ground-truth boxes, pixels. ``M_i`` may be 0.
        iou_thr: a detection hits a box when their overlap is ``>= iou_thr``, in ``(0, 1]``.
        overlap: ``'iou'`` or ``'iobb'`` (intersection over the detected box's area).
        gt_ignore: per image, ``(M_i,)`` bool, True where the ground-truth box is an ignore region
            rather than a lesion. None: every box is a lesion.
        protocol: a name of :data:`~.froc_protocols.FROC_PROTOCOLS`; only its box size
            convention matters for the curve.

    Returns:
        ``(fp_per_image, sensitivity, thresholds)``, each ``(N,)`` float64 with
        ``N = sum(N_i)``: after the k-th detection (descending score, stable order), the false
        positives so far divided by the number of images, the fraction of lesions found so far
        (all NaN when there is no lesion), and that detection's score.

    Raises:
        ValueError: inputs of different lengths or shapes, a NaN or infinite box or score, a
            flipped ground-truth box (``x2 < x1`` or ``y2 < y1``), or ``iou_thr`` outside
            ``(0, 1]`` (each named).
    """
    dets, scores, gts, ignores = _check_inputs(
        det_boxes, det_scores, gt_boxes, gt_ignore, overlap, iou_thr
    )
    offset = get_froc_protocol(protocol).box_size_offset
    num_images = len(dets)
    num_lesions = sum(int((~ignore).sum()) for ignore in ignores)

    # The outcome of a detection depends only on earlier detections of the same image, so each
    # image is matched on its own (vectorised) and only the pooled sort is global.
    is_fp, num_found = [], []
    for boxes, image_scores, image_gts, ignore in zip(dets, scores, gts, ignores, strict=True):
        fp, found = _match_image(boxes, image_scores, image_gts, ignore, iou_thr, overlap, offset)
        is_fp.append(fp)
        num_found.append(found)

    all_scores = np.concatenate(scores) if scores else np.zeros(0)
    order = np.argsort(-all_scores, kind='stable')
    is_fp = np.concatenate(is_fp)[order] if is_fp else np.zeros(0, dtype=bool)
    num_found = np.concatenate(num_found)[order] if num_found else np.zeros(0, dtype=np.int64)

    fp_per_image = np.cumsum(is_fp, dtype=np.float64) / max(num_images, 1)
    if num_lesions > 0:
        sensitivity = np.cumsum(num_found, dtype=np.float64) / num_lesions
    else:
        sensitivity = np.full(len(order), np.nan)
    return fp_per_image, sensitivity, all_scores[order]


def deeplesion_froc(
    det_boxes: Sequence[ArrayLike],
    det_scores: Sequence[ArrayLike],
    gt_boxes: Sequence[ArrayLike],
    fps: Sequence[float] | None = None,
    iou_thr: float = 0.5,
    overlap: str = 'iou',
    gt_ignore: Sequence[ArrayLike] | None = None,
    protocol: str | FROCProtocol = 'mmlesion',
) -> np.ndarray:
    """Sensitivity at given false-positive rates (DeepLesion FROC protocol, see module docstring).

    Boxes are 0-based pixel coordinates of the image, as ``DeepLesionDataset`` gives them
    (``DL_info.csv``'s 1-based ``Bounding_boxes`` minus 1); the protocol measures a box as
    ``x2 - x1`` (``'mmlesion'``, ``'mp3d'``) or ``x2 - x1 + 1`` (``'3dce'``, ``'mulan'``).

    Args:
        det_boxes: per image, ``(N_i, 4)`` detected boxes ``(x1, y1, x2, y2)``, pixels;
            ``N_i`` may be 0.
        det_scores: per image, ``(N_i,)`` detection scores (any real scale, higher = surer).
        gt_boxes: per image, ``(M_i, 4)`` ground-truth boxes, pixels. ``M_i`` may be 0: the
            image's detections are all false positives.
        fps: false positives per image at which to read the sensitivity, each finite and
            ``>= 0``; None: the protocol's (0.5, 1, 2, 4, 8, 16 but for ``'mp3d'``).
        iou_thr: a detection hits a box when their overlap is ``>= iou_thr``.
        overlap: ``'iou'`` or ``'iobb'`` (intersection over the detected box's area).
        gt_ignore: per image, ``(M_i,)`` bool, True where the box is an ignore region.
        protocol: ``'mmlesion'`` (default), ``'3dce'``, ``'mulan'`` or ``'mp3d'``: the box size
            convention and how the curve is read (:mod:`.froc_protocols`). The ground truth is
            taken as given: removing ``Possibly_noisy`` rows, as ``'3dce'`` and ``'mulan'`` do,
            is the dataset's ``noisy_lesions='drop'``.

    Returns:
        ``(len(fps),)`` float64 sensitivities in ``[0, 1]``. NaN at FP rates the protocol does
        not read off the curve (with ``'mmlesion'``: every rate above its last point, e.g. all
        of them when there is no false positive at all), and everywhere when there is no
        detection or no lesion.

    Raises:
        ValueError: an FP rate that is not finite and ``>= 0``, or what
            :func:`deeplesion_froc_curve` refuses.
    """
    preset = get_froc_protocol(protocol)
    fps = check_fp_rates(preset.fps if fps is None else fps)
    fp_per_image, sensitivity, _ = deeplesion_froc_curve(
        det_boxes,
        det_scores,
        gt_boxes,
        iou_thr=iou_thr,
        overlap=overlap,
        gt_ignore=gt_ignore,
        protocol=preset,
    )
    if len(fp_per_image) == 0 or np.isnan(sensitivity).all():
        return np.full(len(fps), np.nan)
    return read_froc_curve(fp_per_image, sensitivity, fps, preset.reading)


def read_froc_curve(
    fp_per_image: np.ndarray, sensitivity: np.ndarray, fps: np.ndarray, reading: str
) -> np.ndarray:
    """Read sensitivities at FP rates off a FROC curve (one point per detection, no origin).

    Args:
        fp_per_image: ``(N,)`` non-decreasing FP rate after each detection, ``N >= 1``.
        sensitivity: ``(N,)`` sensitivity after each detection.
        fps: ``(K,)`` FP rates to read, each ``>= 0``.
        reading: one of :data:`~.froc_protocols.READINGS` (defined there).

    Returns:
        ``(K,)`` float64 sensitivities, NaN where the reading gives none.
    """
    fps = check_fp_rates(fps)
    last_rate = fp_per_image[-1]
    if reading == 'step_top':
        # The last point at or below the rate (the top of a vertical rise), (0, 0) before any.
        last_point = np.searchsorted(fp_per_image, fps, side='right') - 1
        result = np.where(last_point >= 0, sensitivity[np.maximum(last_point, 0)], 0.0)
        result[fps > last_rate] = np.nan
        return result
    # interp1d on a staircase: segments between points of different rates are flat, so the
    # linear interpolation at a rate is the first point at or beyond it (the bottom of a rise).
    first_point = np.searchsorted(fp_per_image, fps, side='left')
    result = sensitivity[np.minimum(first_point, len(sensitivity) - 1)].astype(np.float64)
    above = fps > last_rate
    if reading == 'interp1d_extrapolate':
        # The last segment extended: flat after a final false positive, vertical otherwise.
        last_is_flat = len(fp_per_image) > 1 and fp_per_image[-2] < last_rate
        result[above] = sensitivity[-1] if last_is_flat else np.nan
    elif reading == 'interp1d_hold':
        result[above] = sensitivity[-1]
    elif reading == 'interp1d_truncate':
        result[above] = np.nan
    else:
        raise ValueError(f'unknown FROC reading {reading!r}')
    return result


def _match_image(
    boxes: np.ndarray,
    scores: np.ndarray,
    gts: np.ndarray,
    ignore: np.ndarray,
    iou_thr: float,
    overlap: str,
    box_size_offset: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Match one image's detections, returning per detection (in the given order) whether it is a
    false positive, ``(N,)`` bool, and how many lesions it finds first, ``(N,)`` int64."""
    num_dets = len(boxes)
    if num_dets == 0:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64)
    order = np.argsort(-scores, kind='stable')
    hits = box_overlaps(boxes[order], gts, overlap, box_size_offset) >= iou_thr  # (N, M)
    lesion_hits, ignore_hits = hits[:, ~ignore], hits[:, ignore]
    is_fp = ~lesion_hits.any(axis=1) & ~ignore_hits.any(axis=1)
    # A lesion is found by the first detection, in score order, that hits it.
    was_hit = lesion_hits.any(axis=0)
    first_hit = np.argmax(lesion_hits, axis=0)[was_hit]
    num_found = np.bincount(first_hit, minlength=num_dets)

    unsorted_fp = np.empty(num_dets, dtype=bool)
    unsorted_found = np.empty(num_dets, dtype=np.int64)
    unsorted_fp[order] = is_fp
    unsorted_found[order] = num_found
    return unsorted_fp, unsorted_found


def _check_inputs(
    det_boxes: Sequence[ArrayLike],
    det_scores: Sequence[ArrayLike],
    gt_boxes: Sequence[ArrayLike],
    gt_ignore: Sequence[ArrayLike] | None,
    overlap: str,
    iou_thr: float | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Convert the per-image inputs to float64/bool arrays, checking their lengths and shapes,
    that boxes and scores are finite, that ground-truth boxes are not flipped and, when given,
    that ``iou_thr`` lies in ``(0, 1]``."""
    if overlap not in OVERLAP_MODES:
        raise ValueError(f'overlap must be one of {OVERLAP_MODES}, got {overlap!r}')
    if iou_thr is not None:
        check_iou_thr(iou_thr)
    num_images = check_num_images(
        det_boxes=det_boxes, det_scores=det_scores, gt_boxes=gt_boxes, gt_ignore=gt_ignore
    )
    dets, scores, gts, ignores = [], [], [], []
    for i in range(num_images):
        dets.append(as_boxes(det_boxes[i], f'det_boxes[{i}]'))
        scores.append(as_vector(det_scores[i], len(dets[-1]), np.float64, f'det_scores[{i}]'))
        gts.append(as_boxes(gt_boxes[i], f'gt_boxes[{i}]'))
        if gt_ignore is None:
            ignores.append(np.zeros(len(gts[-1]), dtype=bool))
        else:
            ignores.append(as_vector(gt_ignore[i], len(gts[-1]), bool, f'gt_ignore[{i}]'))
    check_per_image(dets, 'det_boxes', finite_rows)
    check_per_image(scores, 'det_scores', finite_rows)
    check_per_image(gts, 'gt_boxes', finite_ordered_boxes)
    return dets, scores, gts, ignores
