# Demo-scale ablation (paper Table 4, lr 1e-4 of 1.5e-5, about 7x): the base learning rate 5x
# that of configs/_base_/schedules/enhancer_adamw.py (3e-3 -> 1.5e-2).
_base_ = '../enhancer_r18-w16_6e_synth.py'
optim_wrapper = dict(optimizer=dict(lr=1.5e-2))
