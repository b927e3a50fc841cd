# GPU baseline: the frozen GPU detector alone (no enhancement).
# Results: projects/enhancement_benchmark/configs/gpu/README.md
_base_ = '../enhancer_r18_30e_synth512.py'
model = dict(data_preprocessor=dict(mode='identity', regressor=None))
