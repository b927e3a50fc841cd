# Demo baseline: the frozen demo detector alone (no enhancement).
#   python tools/test.py configs/demo/baselines/identity_synth.py DEMO_DETECTOR_CHECKPOINT
_base_ = '../enhancer_r18-w16_6e_synth.py'
model = dict(data_preprocessor=dict(mode='identity', regressor=None))
