# Ablation (paper Table 4): batch size 13 instead of 26.
# Results: configs/README.md
_base_ = './enhancer_r18.py'
train_dataloader = dict(batch_size=13)
