# Baseline: fixed CLAHE only (clip limit 2.0, 8×8 tiles; no global branch, no fusion).
#   python tools/test.py configs/baselines/clahe_fixed_deeplesion.py DETECTOR_CHECKPOINT
_base_ = '../enhancer_r18.py'
model = dict(
    data_preprocessor=dict(mode='fixed', method='clahe', fixed_params=(2.0, 8), regressor=None)
)
