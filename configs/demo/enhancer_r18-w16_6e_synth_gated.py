# CPU demo enhancer with a blend gate: x + alpha(x) * (GLCAE(x) - x), alpha starting near 0.
# Results: configs/demo/README.md
_base_ = './enhancer_r18-w16_6e_synth.py'
model = dict(data_preprocessor=dict(regressor=dict(gate=True)))
