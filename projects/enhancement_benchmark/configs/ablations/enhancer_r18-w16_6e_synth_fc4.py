# Demo-scale ablation (paper Table 4): 4 FC layers per regressor head (32→12→12→12→1), not 2.
_base_ = '../enhancer_r18-w16_6e_synth.py'
model = dict(data_preprocessor=dict(regressor=dict(num_fc_layers=4)))
