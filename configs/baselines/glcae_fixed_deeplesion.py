# Baseline: fixed GLCAE (clip limit 2.0, 8×8 tiles) before the frozen paper detector.
# Results: configs/baselines/README.md
_base_ = '../enhancer_r18.py'
model = dict(data_preprocessor=dict(mode='fixed', fixed_params=(2.0, 8), regressor=None))
