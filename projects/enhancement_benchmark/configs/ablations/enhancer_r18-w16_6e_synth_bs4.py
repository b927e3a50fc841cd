# Demo-scale ablation (paper Table 4): batch 4 instead of 8.
# Results: projects/enhancement_benchmark/configs/ablations/README.md
_base_ = '../../../../configs/demo/enhancer_r18-w16_6e_synth.py'
train_dataloader = dict(batch_size=4)
