# The paper's detector trained with RandomGLCAE: half its slices GLCAE-enhanced at random.
# Results: configs/README.md
_base_ = './faster_rcnn_r50_fpn_deeplesion.py'

train_pipeline = [
    {{_base_.load_slices}},
    {{_base_.hu_window}},
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RescaleToSpacing', target_spacing_mm=0.8),
    # After resampling: the enhancer enhances the resampled slice too.
    dict(type='RandomGLCAE', prob=0.5),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs', meta_keys={{_base_.meta_keys}}),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
