# CPU demo detector: the paper's Faster R-CNN + FPN recipe shrunk to train in minutes on two
# cores on the synthetic DeepLesion (256×256 slices; the key slice through a soft-tissue and a
# wide window and a local-contrast channel: configs/_base_/datasets/synthetic_deeplesion.py):
# ResNet-18 at half its width, 64-channel FPN, smaller RoI head and samplers for 96-pixel
# training patches, Adam with a warm-up and cosine decay over 48 epochs
# (configs/_base_/schedules/adam_demo.py). The previous default (three windows, 16 epochs):
# faster_rcnn_r18_synth_three_window_16e.py.
#   python tools/train.py configs/demo/faster_rcnn_r18-w32_fpn_48e_synth.py
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
        # Two samples a bin instead of adaptive sampling (up to 9 a bin for large RoIs): mmcv's
        # RoIAlign backward was a sixth of a training step. GatherRoIAlign is the same function
        # (to float rounding), 5x faster forward + backward on these CPUs.
        bbox_roi_extractor=dict(
            type='RegistryRoIExtractor',
            out_channels=fpn_channels,
            roi_layer=dict(type='GatherRoIAlign', output_size=7, sampling_ratio=2),
        ),
        bbox_head=dict(in_channels=fpn_channels, fc_out_channels=256),
    ),
    train_cfg=dict(
        rpn=dict(sampler=dict(num=128)),
        # A 96-pixel patch is a seventh of a slice, with one or two lesions: 100 proposals (NMS
        # over the 200 best anchors a level) hold them, and NMS was a tenth of a step at 500.
        rpn_proposal=dict(nms_pre=200, max_per_img=100),
        rcnn=dict(sampler=dict(num=64)),
    ),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=300)),
)

default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=2))
