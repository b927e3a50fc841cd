# GPU baseline: fixed CLAHE only (clip 2.0, 8×8 tiles) before the frozen GPU detector.
# Results: projects/enhancement_benchmark/configs/gpu/README.md
_base_ = '../enhancer_r18_30e_synth512.py'
model = dict(
    data_preprocessor=dict(mode='fixed', method='clahe', fixed_params=(2.0, 8), regressor=None)
)
