"""Which lesions a detector finds and which it misses, grouped by size, type or acquisition.

The FROC says how many lesions are found; this says which. Every lesion of every scored slice
(:func:`~mmlesion.evaluation.slice_records`) gets an outcome at an operating point (the score
threshold at which the detector makes ``fp_per_image`` false positives an image, read from the
pooled detections as the FROC does): found or not, the best overlap any detection reaches, and
how the best-overlapping detection's box compares with the lesion's. Grouped, it separates a
lesion that no detection overlaps (not seen), one whose box is placed or sized too loosely
for the overlap threshold (seen, badly boxed), and one that is boxed but outscored by false
positives (seen, ranked too low).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .functional.froc import box_overlaps, deeplesion_froc_curve


@dataclass(frozen=True)
class LesionOutcome:
    """One lesion at one operating point.

    Attributes:
        slice_index: the slice's position in the records.
        lesion_index: the lesion's position among the slice's lesions (``DL_info.csv`` order).
        found: a detection scoring at least the threshold overlaps it by ``iou_thr`` or more.
        best_iou: the best overlap of any detection, whatever its score (0 without detections).
        width_ratio, height_ratio: the best-overlapping detection's box over the lesion's
            (NaN without detections).
        centre_offset: that detection's centre distance from the lesion box's centre, in
            lesion-box diagonals (NaN without detections).
        long_diameter_mm: the lesion's RECIST long diameter, mm (NaN when unknown).
        lesion_type: its coarse type (-1 when unknown).
        long_side_px: the longer side of the lesion's box, pixels of the image the boxes are
            in (what the detector sees when it runs on that image).
    """

    slice_index: int
    lesion_index: int
    found: bool
    best_iou: float
    width_ratio: float
    height_ratio: float
    centre_offset: float
    long_diameter_mm: float
    lesion_type: int
    long_side_px: float


def score_at_fp_rate(records: Sequence[dict], fp_per_image: float, iou_thr: float = 0.5) -> float:
    """The lowest score threshold at which the detections make at most ``fp_per_image`` false
    positives an image over ``records``, read off their FROC curve
    (:func:`~.functional.deeplesion_froc_curve`: a detection is false when it overlaps no lesion
    and no ignore region by ``iou_thr``); ``inf`` when even the best detection would exceed it.
    """
    fp_rate, _, thresholds = deeplesion_froc_curve(
        [r['pred_bboxes'] for r in records],
        [r['pred_scores'] for r in records],
        [r['gt_bboxes'] for r in records],
        iou_thr=iou_thr,
        gt_ignore=[r['gt_ignore'] for r in records],
    )
    within = np.flatnonzero(fp_rate <= fp_per_image)
    if not len(within):
        return float('inf')
    # Ties: a threshold at the last allowed score also keeps every detection tied with it.
    return float(thresholds[within[-1]])


def lesion_outcomes(
    records: Sequence[dict], score_thr: float, iou_thr: float = 0.5
) -> list[LesionOutcome]:
    """The outcome of every lesion (ignore regions left out) of ``records`` at ``score_thr``."""
    outcomes = []
    for slice_index, record in enumerate(records):
        lesions = ~record['gt_ignore']
        gts = record['gt_bboxes'][lesions]
        boxes, scores = record['pred_bboxes'], record['pred_scores']
        overlaps = box_overlaps(boxes, gts) if len(boxes) and len(gts) else None
        # (M,) long diameters (the first column of (M, 2) long and short ones) and types
        diameters = record.get('lesion_diameters_mm')
        diameters = (
            np.full(len(gts), np.nan)
            if diameters is None
            else np.asarray(diameters, np.float64)[lesions].reshape(len(gts), -1)[:, 0]
        )
        types = record.get('lesion_types')
        types = np.full(len(gts), -1) if types is None else np.asarray(types)[lesions]
        for j, gt in enumerate(gts):
            diameter, kind = float(diameters[j]), int(types[j])
            gt_w, gt_h = gt[2] - gt[0], gt[3] - gt[1]
            long_side = float(max(gt_w, gt_h))
            if overlaps is None:
                outcomes.append(
                    LesionOutcome(
                        slice_index, j, False, 0.0, *(np.nan,) * 3, diameter, kind, long_side
                    )
                )
                continue
            column = overlaps[:, j]
            best = int(np.argmax(column))
            box = boxes[best]
            offset = np.hypot(
                (box[0] + box[2] - gt[0] - gt[2]) / 2, (box[1] + box[3] - gt[1] - gt[3]) / 2
            ) / np.hypot(gt_w, gt_h)
            outcomes.append(
                LesionOutcome(
                    slice_index=slice_index,
                    lesion_index=j,
                    found=bool(((column >= iou_thr) & (scores >= score_thr)).any()),
                    best_iou=float(column[best]),
                    width_ratio=float((box[2] - box[0]) / gt_w),
                    height_ratio=float((box[3] - box[1]) / gt_h),
                    centre_offset=float(offset),
                    long_diameter_mm=diameter,
                    lesion_type=kind,
                    long_side_px=long_side,
                )
            )
    return outcomes


def group_outcomes(
    outcomes: Sequence[LesionOutcome],
    key: Callable[[LesionOutcome], str | None],
    iou_thr: float = 0.5,
    order: Sequence[str] | None = None,
) -> dict[str, dict[str, float]]:
    """Summaries per group (``key`` gives a lesion's group; ``None`` leaves it out), in
    ``order`` where given (groups it does not name follow), else sorted.

    Returns:
        ``{group: {'num_lesions', 'sensitivity' (found at the operating point),
        'overlapped' (some detection at any score reaches ``iou_thr``), 'median_best_iou',
        'median_area_ratio' (best detection's box area over the lesion's),
        'median_centre_offset' (lesion-box diagonals)}}``.
    """
    groups: dict[str, list[LesionOutcome]] = {}
    for outcome in outcomes:
        name = key(outcome)
        if name is not None:
            groups.setdefault(name, []).append(outcome)
    names = [n for n in (order or []) if n in groups]
    names += sorted(n for n in groups if n not in names)
    summary = {}
    for name in names:
        members = groups[name]
        area = np.array([o.width_ratio * o.height_ratio for o in members])
        offset = np.array([o.centre_offset for o in members])
        summary[name] = {
            'num_lesions': float(len(members)),
            'sensitivity': float(np.mean([o.found for o in members])),
            'overlapped': float(np.mean([o.best_iou >= iou_thr for o in members])),
            'median_best_iou': float(np.median([o.best_iou for o in members])),
            'median_area_ratio': _nan_median(area),
            'median_centre_offset': _nan_median(offset),
        }
    return summary


def size_buckets(
    edges: Sequence[float], attribute: str = 'long_diameter_mm', unit: str = 'mm'
) -> tuple[Callable[[LesionOutcome], str | None], list[str]]:
    """A ``key`` for :func:`group_outcomes` giving the bucket of a lesion's size ``attribute``
    (a :class:`LesionOutcome` field: the long diameter in mm by default, or ``'long_side_px'``)
    between increasing ``edges``, and the buckets' names in size order: ``(10, 30)`` gives
    ``<10 mm``, ``10-30 mm`` and ``>=30 mm``. Lesions without that size (NaN) are left out."""
    edges = [float(e) for e in edges]
    if not edges or edges[0] <= 0 or any(b <= a for a, b in itertools.pairwise(edges)):
        raise ValueError(f'size edges must be positive and increasing, got {edges}')
    names = [f'<{edges[0]:g} {unit}']
    names += [f'{a:g}-{b:g} {unit}' for a, b in itertools.pairwise(edges)]
    names.append(f'>={edges[-1]:g} {unit}')

    def key(outcome: LesionOutcome) -> str | None:
        size = getattr(outcome, attribute)
        if np.isnan(size):
            return None
        return names[int(np.searchsorted(edges, size, side='right'))]

    return key, names


def scored_lesion_values(
    records: Sequence[dict], values: Mapping[str, Sequence[float]]
) -> dict[str, list[tuple[float, np.ndarray]]]:
    """Per slice, ``(value, box)`` of each scored lesion, in :class:`LesionOutcome` order.

    ``values`` gives, by ``img_id``, one value per lesion of the slice in ``DL_info.csv`` row
    order, ignore regions included (as the synthetic acquisition sidecar lists its contrasts);
    the records' ``gt_bboxes`` are in that order too. Ignore regions are left out, so the
    ``i``-th pair is the lesion of ``LesionOutcome.lesion_index == i``. Slices without values
    are left out.
    """
    scored = {}
    for record in records:
        slice_values = values.get(record.get('img_id'))
        if slice_values is None:
            continue
        pairs = zip(slice_values, record['gt_bboxes'], record['gt_ignore'], strict=False)
        scored[record['img_id']] = [(v, box) for v, box, ignored in pairs if not ignored]
    return scored


def signal_to_noise(delta_hu: float, noise_sigma_hu: float, box: Sequence[float]) -> float:
    """Rose's signal-to-noise ratio of a lesion: ``|delta_hu| * sqrt(area) / noise_sigma_hu``.

    The lesion is taken as a uniform ellipse filling its box ``(x1, y1, x2, y2)`` (pixels;
    area ``pi / 4 * w * h`` pixels) in white noise of ``noise_sigma_hu`` per pixel: an ideal
    observer summing the lesion's pixels sees its contrast at this many noise standard
    deviations. Rose put the threshold of reliable human detection at about 5. It ignores
    noise correlation and organ texture, both of which lower the real figure.
    """
    area = np.pi / 4 * max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0)
    return float(abs(delta_hu) * np.sqrt(area) / noise_sigma_hu)


def by_slice_attribute(
    records: Sequence[dict], attribute: Mapping[str, Sequence[str] | str]
) -> Callable[[LesionOutcome], str | None]:
    """A ``key`` for :func:`group_outcomes` from a per-slice table keyed by the records'
    ``img_id``: one value for the slice (e.g. its acquisition profile) or one per lesion."""

    def key(outcome: LesionOutcome) -> str | None:
        value = attribute.get(records[outcome.slice_index].get('img_id'))
        if value is None or isinstance(value, str):
            return value
        return value[outcome.lesion_index] if outcome.lesion_index < len(value) else None

    return key


def _nan_median(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(np.median(values)) if len(values) else float('nan')
