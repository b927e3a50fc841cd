# Demo-scale ablation (paper Table 4): 5x the base learning rate of enhancer_adamw.py.
# Results: projects/enhancement_benchmark/configs/ablations/README.md
_base_ = '../../../../configs/demo/enhancer_r18-w16_6e_synth.py'
optim_wrapper = dict(optimizer=dict(lr=1.5e-2))
