# The paper's detector (faster_rcnn_r50_fpn_deeplesion.py) fed the key slice through three
# display windows, one channel each, instead of three neighbouring slices through one wide
# window: the multi-window input of the field (MVP-Net's multi-view input; the windows a
# radiologist reads), which raised the demo detector's sensitivity most (docs/en/results.md;
# the demo detector now replaces the lung window by a local-contrast channel: the real-data
# counterpart is faster_rcnn_r50_fpn_deeplesion_local_contrast.py).
#   soft tissue  -160..240 HU   (W400 / L40: liver, kidney, lymph nodes, soft-tissue masses)
#   wide        -1024..3071 HU  (3DCE's single window: air to dense bone)
#   lung        -1400..200 HU   (W1600 / L-600: nodules in aerated lung)
# The wide window is the middle channel, the one the enhancer's regressor looks at; three
# channels keep the ImageNet-initialised ResNet-50 stem as it is.
#   python tools/train.py configs/faster_rcnn_r50_fpn_deeplesion_multiwindow.py
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
