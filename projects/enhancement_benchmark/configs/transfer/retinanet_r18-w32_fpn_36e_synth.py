# Transfer study's detector: RetinaNet, half-width ResNet-18 + FPN, 36 epochs.
# Results: projects/enhancement_benchmark/configs/transfer/README.md
_base_ = [
    '../../../../configs/_base_/models/retinanet_r50_fpn.py',
    '../../../../configs/_base_/datasets/synthetic_deeplesion.py',
    '../../../../configs/_base_/schedules/adam_demo.py',
    '../../../../configs/_base_/default_runtime.py',
]

width = 32  # ResNet-18 base channels, as the demo Faster R-CNN
fpn_channels = 64
model = dict(
    backbone=dict(depth=18, base_channels=width, frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[width, width * 2, width * 4, width * 8], out_channels=fpn_channels),
    bbox_head=dict(in_channels=fpn_channels, feat_channels=fpn_channels, stacked_convs=2),
)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=2))

# The demo schedule over 36 epochs instead of 48 (the RetinaNet of the results was trained so).
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
