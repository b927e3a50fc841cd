# GPU baseline: fixed GLCAE (clip limit 2.0, 8×8 tiles) in front of the frozen GPU detector.
_base_ = '../enhancer_r18_30e_synth512.py'
model = dict(data_preprocessor=dict(mode='fixed', fixed_params=(2.0, 8), regressor=None))
