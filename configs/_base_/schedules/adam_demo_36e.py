# The demo schedule (adam_demo.py) over 36 epochs instead of 48: the demo default before
# 2026-12-02 (fifth session), validated at epochs 8, 16, 24, 28, 32, 34 and 36. The transfer
# study's RetinaNet keeps it (its measured checkpoint was trained on it).
_base_ = './adam_demo.py'

max_epochs = 36
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=2e-5,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True,
    ),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=8, dynamic_intervals=[(24, 4), (32, 2)])
