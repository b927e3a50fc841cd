# CPU demo detector: Faster R-CNN, half-width ResNet-18 + FPN, 48 epochs.
# Results: configs/demo/README.md
_base_ = [
    '../_base_/models/faster_rcnn_r50_fpn.py',
    '../_base_/datasets/synthetic_deeplesion.py',
    '../_base_/schedules/adam_demo.py',
    '../_base_/default_runtime.py',
]

width = 32  # ResNet-18 base channels (64 in the real one)
fpn_channels = 64
model = dict(
    backbone=dict(
        depth=18,
        base_channels=width,
        frozen_stages=-1,  # trained from scratch: no stage is frozen, BN statistics train
        norm_eval=False,
        init_cfg=None,
    ),
    neck=dict(in_channels=[width, width * 2, width * 4, width * 8], out_channels=fpn_channels),
    rpn_head=dict(in_channels=fpn_channels, feat_channels=fpn_channels),
    roi_head=dict(
        # Two samples a bin instead of adaptive sampling; GatherRoIAlign computes mmcv's
        # RoIAlign (to float rounding), faster on CPUs.
        bbox_roi_extractor=dict(
            type='RegisteredLayerRoIExtractor',
            out_channels=fpn_channels,
            roi_layer=dict(type='GatherRoIAlign', output_size=7, sampling_ratio=2),
        ),
        bbox_head=dict(in_channels=fpn_channels, fc_out_channels=256),
    ),
    train_cfg=dict(
        rpn=dict(sampler=dict(num=128)),
        # A 96-pixel patch holds one or two lesions: 100 proposals (NMS over the 200 best
        # anchors a level) hold them, at a fraction of the NMS cost.
        rpn_proposal=dict(nms_pre=200, max_per_img=100),
        rcnn=dict(sampler=dict(num=64)),
    ),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=300)),
)

default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=2))
