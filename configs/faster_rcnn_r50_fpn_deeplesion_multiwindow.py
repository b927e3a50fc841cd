# The paper's detector on the key slice through three HU windows, one channel each.
# Results: configs/README.md
_base_ = './faster_rcnn_r50_fpn_deeplesion.py'

load_slices = dict(type='LoadDeepLesionSlices', num_slices=1)
hu_window = dict(type='HUWindow', windows=[(-160, 240), (-1024, 3071), (-1400, 200)])
meta_keys = {{_base_.meta_keys}}
train_pipeline = [
    load_slices,
    hu_window,
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RescaleToSpacing', target_spacing_mm=0.8),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs', meta_keys=meta_keys),
]
test_pipeline = [
    load_slices,
    hu_window,
    dict(type='RescaleToSpacing', target_spacing_mm=0.8),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=meta_keys),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
