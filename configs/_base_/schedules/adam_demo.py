# The demo schedule on two CPU cores: the paper's Adam recipe (adam_100e.py) with a warm-up and
# cosine decay that train a small detector from scratch in minutes, over 48 epochs.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=2e-3, weight_decay=1e-4),
)
max_epochs = 48
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
# Validated at epochs 8, 16, 24, 28 and every second epoch from 32 (a from-scratch detector finds
# few lesions before epoch 8). The last epoch of any run is validated too, so a shortened run
# (`train_cfg.max_epochs=2`) keeps a best checkpoint.
train_cfg = dict(
    type='EpochBasedTrainLoop',
    max_epochs=max_epochs,
    val_interval=8,
    dynamic_intervals=[(24, 4), (32, 2)],
)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

early_stopping = dict(
    type='EarlyStoppingHook',
    monitor='deeplesion/mAP',
    rule='greater',
    min_delta=0.001,
    patience=3,
)
custom_hooks = [early_stopping]

auto_scale_lr = dict(enable=False, base_batch_size=8)
