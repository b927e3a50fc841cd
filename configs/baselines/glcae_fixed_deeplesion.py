# Baseline: fixed GLCAE with the reference code's (clip limit 2.0, 8×8 tiles) for every image.
#   python tools/test.py configs/baselines/glcae_fixed_deeplesion.py DETECTOR_CHECKPOINT
_base_ = '../enhancer_r18.py'
model = dict(data_preprocessor=dict(mode='fixed', fixed_params=(2.0, 8), regressor=None))
