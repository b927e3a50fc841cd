# The demo detector trained as the paper trains its detector: without RandomGLCAE.
# Results: configs/demo/README.md
_base_ = './faster_rcnn_r18-w32_fpn_48e_synth.py'

detector_train_pipeline = [
    {{_base_.load_slices}},
    {{_base_.hu_window}},
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomLesionCrop', crop_size=(96, 96)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs', meta_keys={{_base_.meta_keys}}),
]
train_dataloader = dict(dataset=dict(pipeline=detector_train_pipeline))
