# The paper's enhancer with a blend gate: x + alpha(x) * (GLCAE(x) - x), alpha starting near 0.
# Results: configs/README.md
_base_ = './enhancer_r18.py'
model = dict(data_preprocessor=dict(regressor=dict(gate=True)))
