"""The pipelines the main job compares, in table order."""

#: (name, label, config key) of the compared pipelines, in table order.
METHODS = (
    ('identity', 'detector alone', 'identity_config'),
    ('glcae_fixed', 'fixed GLCAE (2.0, 8)', 'glcae_fixed_config'),
    ('clahe_fixed', 'fixed CLAHE (2.0, 8)', 'clahe_fixed_config'),
    ('learned', 'learned GLCAE (ours)', 'enhancer_config'),
)
