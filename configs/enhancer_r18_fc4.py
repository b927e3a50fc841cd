# Ablation (paper Table 4): 4 FC layers per regressor head instead of 2.
# Results: configs/README.md
_base_ = './enhancer_r18.py'
model = dict(data_preprocessor=dict(regressor=dict(num_fc_layers=4)))
