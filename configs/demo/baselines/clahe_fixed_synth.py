# Demo baseline: fixed CLAHE only (clip limit 2.0, 8×8 tiles) in front of the frozen demo detector.
#   python tools/test.py configs/demo/baselines/clahe_fixed_synth.py DEMO_DETECTOR_CHECKPOINT
_base_ = '../enhancer_r18-w16_6e_synth.py'
model = dict(
    data_preprocessor=dict(mode='fixed', method='clahe', fixed_params=(2.0, 8), regressor=None)
)
