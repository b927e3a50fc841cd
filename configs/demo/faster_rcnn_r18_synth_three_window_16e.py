# The demo detector before 2026-12-01: the key slice through three display windows (soft tissue
# -160..240, wide -1024..1050, lung -1400..200 HU) and 16 epochs. Kept to reproduce the
# comparison of docs/en/results.md ("The demo detector"): over seeds 0-2 its mean test average
# sensitivity was 31.5 % (AP50 21.8 %) against 37.0 % (29.2 %) for faster_rcnn_r18_synth.py.
#   python tools/train.py configs/demo/faster_rcnn_r18_synth_three_window_16e.py
_base_ = './faster_rcnn_r18_synth.py'

three_windows = dict(type='HUWindow', windows=[(-160, 240), (-1024, 1050), (-1400, 200)])
detector_train_pipeline = [
    {{_base_.load_slices}},
    three_windows,
    dict(type='RandomGLCAE', prob=0.5),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomLesionCrop', crop_size=(96, 96)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs', meta_keys={{_base_.meta_keys}}),
]
test_pipeline = [
    {{_base_.load_slices}},
    three_windows,
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys={{_base_.meta_keys}}),
]
train_dataloader = dict(dataset=dict(pipeline=detector_train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))

max_epochs = 16
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
train_cfg = dict(max_epochs=max_epochs, val_interval=8, dynamic_intervals=[(8, 4), (12, 2)])
