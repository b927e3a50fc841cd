# Demo-scale ablation (paper Table 4): 4 FC layers per regressor head instead of 2.
# Results: projects/enhancement_benchmark/configs/ablations/README.md
_base_ = '../../../../configs/demo/enhancer_r18-w16_6e_synth.py'
model = dict(data_preprocessor=dict(regressor=dict(num_fc_layers=4)))
