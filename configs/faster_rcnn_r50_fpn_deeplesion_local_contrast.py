# The paper's detector on the demo's input: two HU windows and a local-contrast channel.
# Results: configs/README.md
_base_ = './faster_rcnn_r50_fpn_deeplesion_multiwindow.py'

local_contrast = dict(
    type='LocalContrastWindow',
    windows=[(-160, 240), (-1024, 3071)],
    sigma_fine_mm=1.5,
    sigma_coarse_mm=6.0,
    half_width_hu=60.0,
)
# The multi-window pipelines with their window step replaced.
key_slice = dict(type='LoadDeepLesionSlices', num_slices=1)
train_pipeline = [
    key_slice,
    local_contrast,
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RescaleToSpacing', target_spacing_mm=0.8),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs', meta_keys={{_base_.meta_keys}}),
]
test_pipeline = [
    key_slice,
    local_contrast,
    dict(type='RescaleToSpacing', target_spacing_mm=0.8),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys={{_base_.meta_keys}}),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
