# Demo-scale ablation (paper Table 4, lr 1e-4 of 1.5e-5): base learning rate 5e-2 instead of 1e-2.
_base_ = '../enhancer_r18_synth.py'
optim_wrapper = dict(optimizer=dict(lr=5e-2))
