# Demo-scale ablation (paper Table 4): early-stopping patience 1 instead of 2.
# Results: projects/enhancement_benchmark/configs/ablations/README.md
_base_ = '../../../../configs/demo/enhancer_r18-w16_6e_synth.py'
custom_hooks = [
    dict(
        type='EarlyStoppingHook',
        monitor='deeplesion/mAP',
        rule='greater',
        min_delta=0.001,
        patience=1,
    ),
]
