# Demo baseline: fixed CLAHE only (clip 2.0, 8×8 tiles) before the frozen demo detector.
# Results: configs/demo/README.md
_base_ = '../enhancer_r18-w16_6e_synth.py'
model = dict(
    data_preprocessor=dict(mode='fixed', method='clahe', fixed_params=(2.0, 8), regressor=None)
)
