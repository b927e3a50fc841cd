# Demo-scale ablation: the reinforce objective instead of the surrogate.
# Results: projects/enhancement_benchmark/configs/ablations/README.md
_base_ = '../../../../configs/demo/enhancer_r18-w16_6e_synth.py'
model = dict(objective='reinforce')
