# Demo baseline: the frozen demo detector alone (no enhancement).
# Results: configs/demo/README.md
_base_ = '../enhancer_r18-w16_6e_synth.py'
model = dict(data_preprocessor=dict(mode='identity', regressor=None))
