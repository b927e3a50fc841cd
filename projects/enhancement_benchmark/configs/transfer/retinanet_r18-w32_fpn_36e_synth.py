# The transfer study's detector on the embedded synthetic DeepLesion: RetinaNet shrunk to train on
# two CPU cores, trained on the same data and input as the demo Faster R-CNN
# (demo/faster_rcnn_r18-w32_fpn_48e_synth.py), so that the two differ only in the detector, over 36 epochs
# (adam_demo_36e.py, the demo detector's schedule before 2026-12-02; the measured RetinaNet of
# docs/en/results.md was trained on it).
#   python tools/train.py projects/enhancement_benchmark/configs/transfer/retinanet_r18-w32_fpn_36e_synth.py
_base_ = [
    '../_base_/models/retinanet_r50_fpn.py',
    '../_base_/datasets/synthetic_deeplesion.py',
    '../_base_/schedules/adam_demo_36e.py',
    '../_base_/default_runtime.py',
]

width = 32  # ResNet-18 base channels, as the demo Faster R-CNN
fpn_channels = 64
model = dict(
    backbone=dict(depth=18, base_channels=width, frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[width, width * 2, width * 4, width * 8], out_channels=fpn_channels),
    bbox_head=dict(in_channels=fpn_channels, feat_channels=fpn_channels, stacked_convs=2),
)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=2))
