# Demo-scale ablation (paper Table 4, patience 10 of 20): early-stopping patience 1 instead of 2.
_base_ = '../enhancer_r18-w16_6e_synth.py'
custom_hooks = [
    dict(
        type='EarlyStoppingHook',
        monitor='deeplesion/mAP',
        rule='greater',
        min_delta=0.001,
        patience=1,
    ),
]
