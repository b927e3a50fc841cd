# Baseline: the frozen detector alone (no enhancement), evaluated through the same wrapper.
#   python tools/test.py configs/baselines/identity_deeplesion.py DETECTOR_CHECKPOINT
_base_ = '../enhancer_r18.py'
model = dict(data_preprocessor=dict(mode='identity', regressor=None))
