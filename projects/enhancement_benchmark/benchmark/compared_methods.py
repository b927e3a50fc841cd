"""The pipelines the main job compares, in table order."""

#: (name, label, config key) of the pipelines evaluated through their own config, in table order.
METHODS = (
    ('identity', 'detector alone', 'identity_config'),
    ('glcae_fixed', 'fixed GLCAE (2.0, 8)', 'glcae_fixed_config'),
    ('clahe_fixed', 'fixed CLAHE (2.0, 8)', 'clahe_fixed_config'),
    ('learned', 'learned GLCAE (ours)', 'enhancer_config'),
)
#: Labels of every method the reports show, in table order: the configs' methods, then the
#: baselines chosen on validation and the per-slice oracle (an upper bound, not a method).
METHOD_LABELS = {
    **{name: label for name, label, _ in METHODS},
    'glcae_tuned': 'fixed GLCAE tuned on val',
    'glcae_per_profile': 'fixed GLCAE per profile (val)',
    'oracle': 'oracle per slice (upper bound)',
    'glcae_tuned_id': 'fixed GLCAE or identity, tuned on val',
    'glcae_per_profile_id': 'fixed GLCAE or identity per profile (val)',
    'oracle_id': 'oracle per slice, identity included (upper bound)',
    'oracle_crossfit': 'oracle chosen on a shifted copy (cross-fit)',
    'oracle_null': 'null oracle: shifted copies, no enhancement',
    'learned_gated': 'learned GLCAE with a blend gate',
    'learned_gated_checked': 'learned GLCAE with a blend gate checked on val',
    'policy': 'setting policy (identity or a GLCAE setting per image)',
    'policy_ap': 'setting policy trained on 1 − slice AP',
    'tta': 'detector alone + test-time augmentation',
}
#: Suffix and label suffix of the methods in front of the detector trained without RandomGLCAE.
NOAUG_SUFFIX = '_noaug'
NOAUG_LABEL = ' [detector w/o RandomGLCAE]'


def method_label(name: str) -> str:
    """The table label of a method name, ``*_noaug`` included."""
    if name.endswith(NOAUG_SUFFIX):
        base = name[: -len(NOAUG_SUFFIX)]
        return METHOD_LABELS.get(base, base) + NOAUG_LABEL
    return METHOD_LABELS.get(name, name)


def ordered_methods(names) -> list[str]:
    """``names`` in table order: the main detector's methods, then the ``_noaug`` ones."""
    order = [*METHOD_LABELS, *(m + NOAUG_SUFFIX for m in METHOD_LABELS)]
    known = [m for m in order if m in names]
    return known + sorted(set(names) - set(known))
