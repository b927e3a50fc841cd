# The transfer study's detector at paper scale: RetinaNet R50-FPN on DeepLesion.
# Results: projects/enhancement_benchmark/configs/transfer/README.md
_base_ = [
    '../../../../configs/_base_/models/retinanet_r50_fpn.py',
    '../../../../configs/_base_/datasets/deeplesion.py',
    '../../../../configs/_base_/schedules/adam_100e.py',
    '../../../../configs/_base_/default_runtime.py',
]

train_dataloader = dict(batch_size=26)
