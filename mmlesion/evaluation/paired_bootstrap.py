"""Paired bootstrap over test slices: a confidence interval for a metric difference of two methods.

Both methods are scored on the same resampled slice sets (slices drawn with replacement, as many
as there are), so the interval reflects how much the difference depends on which slices happen
to be in the test split, with the slice-to-slice correlation of the two methods kept. The
interval is the percentile interval of the resampled differences; the point estimate is the
difference on the test split itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .functional.weighted_slices import WeightedSliceMetrics

#: Bootstrapped metric key in the results -> :meth:`WeightedSliceMetrics.evaluate` key.
BOOTSTRAP_METRICS = {'map': 'mAP', 'froc_avg': 'avg_sens'}


def paired_bootstrap(
    method: WeightedSliceMetrics,
    reference: WeightedSliceMetrics,
    num_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict:
    """Percentile intervals of ``method − reference`` on mAP and average FROC sensitivity,
    both scored on the rows of :func:`~.functional.weighted_slices.resample_weights`.

    Args:
        method, reference: the two methods' predictions on the same slices, in the same order.
        num_resamples: bootstrap resamples.
        seed: seed of the resampling (the same for every pair: the pairs then share the draws).
        confidence: coverage of the interval.

    Returns:
        ``{'map': [low, high], 'froc_avg': [low, high], 'point': {'map', 'froc_avg'},
        'resamples', 'seed', 'confidence', 'undefined': {'map', 'froc_avg'}}``, differences in
        percentage points; ``undefined`` counts the resamples where a metric was NaN (e.g. an
        FP rate a resample never reaches), left out of the interval.
    """
    return pooled_paired_bootstrap([(method, reference)], num_resamples, seed, confidence)


def pooled_paired_bootstrap(
    pairs: Sequence[tuple[WeightedSliceMetrics, WeightedSliceMetrics]],
    num_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict:
    """:func:`paired_bootstrap` of the mean difference over several independent test sets
    (e.g. one per data seed), stratified: each set's slices are resampled within the set.

    Resample ``b`` of the pooled difference is the mean over the sets of each set's difference
    on its own resample ``b`` (set ``i`` drawn with seed ``seed + i``); the point estimate is
    the mean of the sets' differences on their whole test sets. With one set this is
    :func:`paired_bootstrap`.

    Args:
        pairs: per test set, ``(method, reference)`` on the same slices in the same order.

    Returns:
        :func:`paired_bootstrap`'s keys; ``undefined`` counts the resamples where any set's
        metric was NaN.
    """
    if not pairs:
        raise ValueError('a pooled paired bootstrap needs at least one (method, reference) pair')
    for method, reference in pairs:
        if method.num_slices != reference.num_slices:
            raise ValueError(
                'paired bootstrap needs the same slices: '
                f'{method.num_slices} vs {reference.num_slices}'
            )
    if not 0 < confidence < 1:
        raise ValueError(f'confidence must lie in (0, 1), got {confidence}')
    tail = 100 * (1 - confidence) / 2
    result: dict = {
        'point': {},
        'undefined': {},
        'resamples': num_resamples,
        'seed': seed,
        'confidence': confidence,
    }
    resampled, whole = [], []
    for index, (method, reference) in enumerate(pairs):
        resampled.append(
            (
                method.resampled(num_resamples, seed + index),
                reference.resampled(num_resamples, seed + index),
            )
        )
        full = np.ones((1, method.num_slices))
        whole.append((method.evaluate(full), reference.evaluate(full)))
    for key, metric in BOOTSTRAP_METRICS.items():
        difference = np.mean([100 * (m[metric] - r[metric]) for m, r in resampled], axis=0)
        points = [100 * (m[metric][0] - r[metric][0]) for m, r in whole]
        defined = difference[~np.isnan(difference)]
        result['undefined'][key] = int(len(difference) - len(defined))
        if len(defined):
            low, high = np.percentile(defined, [tail, 100 - tail])
            result[key] = [float(low), float(high)]
        else:
            result[key] = [float('nan'), float('nan')]
        result['point'][key] = float(np.mean(points))
    return result


def aligned_results(
    results: dict[str, Sequence[dict]], key: str = 'img_path'
) -> dict[str, list[dict]]:
    """The per-slice records of several methods put in one slice order (sorted by ``key``).

    Raises:
        ValueError: the methods were not evaluated on the same slices.
    """
    ordered = {}
    reference = None
    for name, records in results.items():
        by_key = {r[key]: r for r in records}
        if reference is None:
            reference = sorted(by_key)
        elif sorted(by_key) != reference:
            raise ValueError(f'{name!r} was not evaluated on the same slices as the others')
        ordered[name] = [by_key[k] for k in reference]
    return ordered
