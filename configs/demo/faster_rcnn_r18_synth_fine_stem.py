# The demo detector (faster_rcnn_r18_synth.py, local-contrast input) on stride-2
# features: FineStemResNet (no stem max pool), FPN levels at strides 2..32, anchors of 8 and 16
# pixels on the finest level (scales 4, 8: the same sizes per pixel of image as before), over
# a 16-epoch schedule. Aimed at the lesions under
# 10 mm (3-7 pixels), of which the 28-epoch detectors find 3 %. Measured on seed 0 and 1
# (docs/en/results.md, "The demo detector"): it did not find them either.
#   python tools/train.py configs/demo/faster_rcnn_r18_synth_fine_stem.py
_base_ = './faster_rcnn_r18_synth.py'

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
model = dict(
    backbone=dict(type='FineStemResNet'),
    rpn_head=dict(anchor_generator=dict(scales=[4, 8], strides=[2, 4, 8, 16, 32])),
    roi_head=dict(bbox_roi_extractor=dict(featmap_strides=[2, 4, 8, 16])),
)
