"""How a trained setting policy chose on the test slices: how often it left its most common
setting, and how its choices follow the synthetic data's acquisition profiles."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

from mmlesion.models.regressors.setting_policy import setting_label


def chosen_label(prediction: Mapping) -> str:
    """The setting a dumped prediction of a policy enhancer was made with (``'identity'``,
    ``'clip2_grid8'``), from its ``clahe_clip_limit`` / ``clahe_grid_size``."""
    clip = prediction.get('clahe_clip_limit')
    if clip is None:
        return setting_label(None)
    return setting_label((float(clip), float(prediction['clahe_grid_size'])))


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def profile_information(choices: Sequence[str], profiles: Sequence[str]) -> float:
    """Uncertainty coefficient ``I(choice; profile) / H(choice)`` in [0, 1]: 0 = the profile
    says nothing about the choice, 1 = the choice is a function of the profile; NaN when the
    choice never varies."""
    table = Counter(zip(profiles, choices, strict=True))
    rows = sorted(set(profiles))
    columns = sorted(set(choices))
    joint = np.array([[table[(r, c)] for c in columns] for r in rows], dtype=np.float64)
    h_choice = _entropy(joint.sum(axis=0))
    if h_choice == 0:
        return float('nan')
    h_given = sum(row.sum() / joint.sum() * _entropy(row) for row in joint)
    return float((h_choice - h_given) / h_choice)


def policy_choice_report(predictions: Sequence[Mapping], profiles: Mapping[str, str]) -> dict:
    """The policy's choices over the dumped test predictions.

    Args:
        predictions: ``tools/test.py --out`` predictions of the policy enhancer (``img_id``,
            ``clahe_clip_limit``, ``clahe_grid_size``).
        profiles: ``File_name`` -> acquisition profile (``acquisition_profiles``); slices
            without one count as ``'unknown'``.

    Returns:
        ``{'num_slices', 'counts': {setting: n}, 'most_common', 'share_off_most_common',
        'by_profile': {profile: {'num_slices', 'counts', 'most_common',
        'share_of_most_common'}}, 'profile_information'}``.
    """
    if not predictions:
        raise ValueError('policy_choice_report needs at least one prediction')
    choices = [chosen_label(p) for p in predictions]
    labels = [profiles.get(p.get('img_id'), 'unknown') for p in predictions]
    counts = Counter(choices)
    most_common, top = counts.most_common(1)[0]
    by_profile = {}
    for profile in sorted(set(labels)):
        members = Counter(c for c, g in zip(choices, labels, strict=True) if g == profile)
        name, n = members.most_common(1)[0]
        total = sum(members.values())
        by_profile[profile] = {
            'num_slices': total,
            'counts': dict(sorted(members.items())),
            'most_common': name,
            'share_of_most_common': n / total,
        }
    return {
        'num_slices': len(choices),
        'counts': dict(sorted(counts.items())),
        'most_common': most_common,
        'share_off_most_common': 1 - top / len(choices),
        'by_profile': by_profile,
        'profile_information': profile_information(choices, labels),
    }


def choice_summary(report: Mapping) -> str:
    """One line of a :func:`policy_choice_report`: the share off the most common setting, the
    most common setting per profile (its share) and the profile information."""
    profiles = ', '.join(
        f'{profile} {group["most_common"]} ({100 * group["share_of_most_common"]:.0f} %)'
        for profile, group in report['by_profile'].items()
    )
    return (
        f'{100 * report["share_off_most_common"]:.1f} % of {report["num_slices"]} test slices '
        f'off the most common setting ({report["most_common"]}); most common by profile: '
        f'{profiles}; profile information {report["profile_information"]:.2f}'
    )
