# Ablation (paper Table 4): learning rate 1e-4 instead of 1.5e-5.
# Results: configs/README.md
_base_ = './enhancer_r18.py'
optim_wrapper = dict(optimizer=dict(lr=1e-4))
