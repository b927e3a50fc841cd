# The paper's detector (Table 1): Faster R-CNN R50-FPN on DeepLesion 2.5D key slices.
# Results: configs/README.md
_base_ = [
    '_base_/models/faster_rcnn_r50_fpn.py',
    '_base_/datasets/deeplesion.py',
    '_base_/schedules/adam_100e.py',
    '_base_/default_runtime.py',
]

train_dataloader = dict(batch_size=26)
