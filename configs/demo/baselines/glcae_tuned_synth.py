# Demo baseline: fixed GLCAE at the (clip, grid) the validation grid search chose.
# Results: configs/demo/README.md
_base_ = '../enhancer_r18-w16_6e_synth.py'
# fixed_params is required: the chosen setting, e.g.
#   --cfg-options model.data_preprocessor.fixed_params="[8.0,12.0]"
model = dict(data_preprocessor=dict(mode='fixed', fixed_params=None, regressor=None))
