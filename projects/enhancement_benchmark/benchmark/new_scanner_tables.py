"""The new-scanner study's verdict and tables, generated from ``docs/results/new_scanner.json``.

:func:`new_scanner_verdict` is the README's paragraph and :func:`new_scanner_markdown` the
tables of ``docs/en/results.md``; :mod:`.results_tables` writes them between their markers, so
that the prose cannot drift from the measurement. Every figure is in percent (FROC average
sensitivity at 0.5–4 false positives per image, COCO mAP) or in points of difference, with the
paired-bootstrap intervals of :mod:`.new_scanner_report`.
"""

from __future__ import annotations

from collections.abc import Sequence

#: The methods of the table, in order, with their labels.
METHOD_LABELS: dict[str, str] = {
    'alone': 'detector alone (frozen, site A)',
    'tuned_fixed': 'best fixed setting tuned on site-B val (identity included)',
    'glcae_tuned': 'fixed GLCAE tuned on site-B val',
    'clahe_tuned': 'fixed CLAHE tuned on site-B val',
    'window_tuned': 'fixed HU window + denoising tuned on site-B val',
    'learned_paper': "learned GLCAE (the paper's regressor)",
    'learned_gated': 'learned GLCAE with the blend gate',
    'learned_window': 'learned HU window + denoising (CT-native)',
    'enhancer': '**enhancer** (the learned variant best on site-B val)',
    'tta': 'test-time augmentation (flips × shifts)',
    'finetuned': '**detector fine-tuned on site B** (all weights)',
    'oracle': 'oracle: best candidate per slice (upper bound)',
    'oracle_null': 'null oracle: best shifted copy per slice, no enhancement',
}
#: The intervals reported, as ``(pair, label)``.
PAIRS: tuple[tuple[str, str], ...] = (
    ('enhancer-alone', 'enhancer − detector alone'),
    ('enhancer-tuned_fixed', 'enhancer − tuned fixed setting'),
    ('finetuned-alone', 'fine-tuned − detector alone'),
    ('enhancer-finetuned', 'enhancer − fine-tuned'),
)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _points(value: float) -> str:
    return f'{value:+.2f}'


def _interval(bounds: Sequence[float]) -> str:
    return f'[{bounds[0]:+.2f}, {bounds[1]:+.2f}]'


def _seeds(result: dict) -> str:
    seeds = [str(r['seed']) for r in result['runs']]
    return ('seed ' if len(seeds) == 1 else 'mean of seeds ') + ', '.join(seeds)


def _per_seed(result: dict, pair: str, metric: str = 'froc_avg') -> list[tuple[float, float]]:
    return [tuple(r['bootstrap'][pair][metric]) for r in result['runs']]


def _all_above_zero(bounds: Sequence[tuple[float, float]]) -> bool:
    return all(lo > 0 for lo, _ in bounds)


def gap_recovered(result: dict) -> float | None:
    """Share of the fine-tuned detector's gain over the detector alone that the enhancer
    recovers, FROC average sensitivity, mean over the runs; ``None`` when fine-tuning's own
    gain is not established (its interval holds 0 on some seed): then there is no gap to
    recover a share of."""
    if not _all_above_zero(_per_seed(result, 'finetuned-alone')):
        return None
    alone = _mean([r['froc_avg']['alone'] for r in result['runs']])
    enhancer = _mean([r['froc_avg']['enhancer'] for r in result['runs']])
    finetuned = _mean([r['froc_avg']['finetuned'] for r in result['runs']])
    return (enhancer - alone) / (finetuned - alone)


def verdict_reading(result: dict) -> str:
    """The sentence the FROC intervals support, per seed: is the gain real, is it per image
    (against the tuned fixed setting), and how does it stand against fine-tuning."""
    gain = _all_above_zero(_per_seed(result, 'enhancer-alone'))
    per_image = _all_above_zero(_per_seed(result, 'enhancer-tuned_fixed'))
    behind_finetuning = all(hi < 0 for _, hi in _per_seed(result, 'enhancer-finetuned'))
    recovered = gap_recovered(result)
    if behind_finetuning:
        return (
            'fine-tuning the detector beats the enhancer on this shift (the enhancer − '
            'fine-tuned interval lies below 0 on every seed); the enhancer is no substitute for '
            'labelled site-B data here'
        )
    if gain and per_image and (recovered is None or recovered >= 0.5):
        return (
            'the learned enhancer pays for itself on this shift: above the detector alone and '
            'above the best fixed setting on every seed, and not behind fine-tuning'
        )
    if gain:
        return (
            'enhancement recovers part of the shift in front of the frozen detector (the '
            'enhancer − alone interval lies above 0 on every seed), but the gain is not shown '
            'to be per image: the enhancer − tuned fixed interval holds 0, so one setting '
            'tuned on site-B val is the cheaper way to the same gain'
        )
    return 'no enhancer separates from the detector alone at this sample size'


def new_scanner_verdict(result: dict) -> str:
    """The README's one-paragraph verdict of the new-scanner study."""
    runs = result['runs']
    mean = {
        key: _mean([r['froc_avg'][key] for r in runs])
        for key in ('alone', 'enhancer', 'finetuned', 'tuned_fixed')
    }
    site_a = _mean([r['site_a_alone_froc_avg'] for r in runs])
    site_a_enhancer = _mean([r['site_a_enhancer_froc_avg'] for r in runs])
    pooled = result['bootstrap']
    gain = pooled['enhancer-alone']
    variants = sorted({r['enhancer_variant'] for r in runs})
    recovered = gap_recovered(result)
    above_fixed = sum(r['froc_avg']['enhancer'] > r['froc_avg']['tuned_fixed'] for r in runs)
    site_a_bounds = [r['site_a_bootstrap']['enhancer-alone']['froc_avg'] for r in runs]
    efficiency = result['label_efficiency']
    small = [n for n in ('10', '25') if all(n in efficiency[m] for m in ('enhancer', 'finetuned'))]
    label_text = '; '.join(
        f'{n}: enhancer {efficiency["enhancer"][n]:.1f} %, fine-tuned '
        f'{efficiency["finetuned"][n]:.1f} %'
        for n in small
    )
    train = result['train_seconds']
    share = (
        "fine-tuning's own gain in sensitivity is not established (its interval holds 0), so "
        'no share of a gap is defined'
        if recovered is None
        else f'the enhancer recovers {100 * recovered:.0f} % of the gap to the fine-tuned detector'
    )
    lines = [
        f'**On a new scanner** ({_seeds(result)}; [guide](docs/en/new_scanner.md)): the frozen '
        f"site-A demo detector's FROC average sensitivity falls from {site_a:.1f} % on site A's "
        f"test split to {mean['alone']:.1f} % on site B's (lower dose, sharper kernel): "
        f'{site_a - mean["alone"]:.1f} points lost.',
        f'The best learned enhancer ({", ".join(variants)}, chosen on site-B val) reaches '
        f'{mean["enhancer"]:.1f} % (enhancer − alone {_points(gain["point"]["froc_avg"])} '
        f'points, 95 % interval {_interval(gain["froc_avg"])}); the best fixed setting tuned on '
        f'site-B val {mean["tuned_fixed"]:.1f} % (enhancer − tuned fixed '
        f'{_interval(pooled["enhancer-tuned_fixed"]["froc_avg"])}, above it on {above_fixed} of '
        f"{len(runs)} seed(s)); the detector fine-tuned on site B's train split "
        f'{mean["finetuned"]:.1f} % (fine-tuned − alone '
        f'{_interval(pooled["finetuned-alone"]["froc_avg"])}; in mAP points '
        f'{_interval(pooled["finetuned-alone"]["map"])}; enhancer − fine-tuned '
        f'{_interval(pooled["enhancer-finetuned"]["froc_avg"])}), after '
        f"{train['finetuned']:.0f} s of training against the enhancer's "
        f'{train["enhancer"]:.0f} s.',
        f'{share[0].upper()}{share[1:]}'
        + (f'; with few labelled patients, {label_text}' if label_text else '')
        + '.',
        f'On site A the site-B enhancer gives {site_a_enhancer:.1f} % against the detector '
        f"alone's {site_a:.1f} % (interval "
        + ', '.join(_interval(b) for b in site_a_bounds)
        + ').',
        f'Reading: {verdict_reading(result)}.',
    ]
    return ' '.join(lines)


def new_scanner_markdown(result: dict) -> str:
    """The tables of ``docs/en/results.md``: every method on site B's test split, the
    intervals, the label-efficiency curve and the site-A check."""
    runs = result['runs']
    seeds = ', '.join(str(r['seed']) for r in runs)
    out = [
        f'Site-B test split, percent ({_seeds(result)}); training seconds on the machine of the '
        'run; `enhancer` is the learned variant best on site-B val '
        f'({", ".join(r["enhancer_variant"] for r in runs)} for seed(s) {seeds}).',
        '',
        '| method | mAP | avg. sens. | training s |',
        '|---|---:|---:|---:|',
    ]
    for method, label in METHOD_LABELS.items():
        if not all(method in r['froc_avg'] for r in runs):
            continue
        seconds = result['train_seconds'].get(method)
        out.append(
            f'| {label} | {_mean([r["map"][method] for r in runs]):.2f} | '
            f'{_mean([r["froc_avg"][method] for r in runs]):.2f} | '
            + ('' if seconds is None else f'{seconds:.0f}')
            + ' |'
        )
    out += [
        '',
        '| 95 % paired-bootstrap interval, points | mAP | avg. sens. | avg. sens. by seed |',
        '|---|---:|---:|---|',
    ]
    for pair, label in PAIRS:
        pooled = result['bootstrap'][pair]
        by_seed = ', '.join(_interval(b) for b in _per_seed(result, pair))
        out.append(
            f'| {label} | {_points(pooled["point"]["map"])} {_interval(pooled["map"])} | '
            f'{_points(pooled["point"]["froc_avg"])} {_interval(pooled["froc_avg"])} | {by_seed} |'
        )
    efficiency = result['label_efficiency']
    sizes = sorted({int(n) for curve in efficiency.values() for n in curve})
    out += [
        '',
        '| labelled site-B patients | ' + ' | '.join(str(n) for n in sizes) + ' |',
        '|---|' + '---:|' * len(sizes),
    ]
    for method in ('enhancer', 'finetuned'):
        curve = efficiency.get(method, {})
        out.append(
            f'| {method}, avg. sens. | '
            + ' | '.join(f'{curve[str(n)]:.2f}' if str(n) in curve else '' for n in sizes)
            + ' |'
        )
    out.append(
        f'| detector alone | {result["label_efficiency_alone_froc_avg"]:.2f} (no labels) |'
        + ' |' * (len(sizes) - 1)
    )
    site_a = _mean([r['site_a_alone_froc_avg'] for r in runs])
    site_a_enhancer = _mean([r['site_a_enhancer_froc_avg'] for r in runs])
    out += [
        '',
        f"Site A's test split: detector alone {site_a:.2f} %, with the site-B enhancer "
        f'{site_a_enhancer:.2f} % (interval by seed: '
        + ', '.join(_interval(r['site_a_bootstrap']['enhancer-alone']['froc_avg']) for r in runs)
        + ').',
    ]
    return '\n'.join(out)
