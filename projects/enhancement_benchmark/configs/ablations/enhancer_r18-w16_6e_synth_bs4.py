# Demo-scale ablation (paper Table 4, batch 13 of 26): batch 4 instead of 8.
_base_ = '../enhancer_r18-w16_6e_synth.py'
train_dataloader = dict(batch_size=4)
