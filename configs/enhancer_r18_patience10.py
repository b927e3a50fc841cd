# Ablation (paper Table 4): early-stopping patience 10 instead of 20.
# Results: configs/README.md
_base_ = './enhancer_r18.py'
custom_hooks = [
    dict(
        type='EarlyStoppingHook',
        monitor='deeplesion/mAP',
        rule='greater',
        min_delta=0.001,
        patience=10,
    ),
]
