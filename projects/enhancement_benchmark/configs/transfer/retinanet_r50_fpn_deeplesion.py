# The transfer study's detector at paper scale: RetinaNet R50-FPN on DeepLesion key slices with
# the same data, schedule (Table 1) and evaluation as faster_rcnn_r50_fpn_deeplesion.py.
#   python tools/train.py projects/enhancement_benchmark/configs/transfer/retinanet_r50_fpn_deeplesion.py [--amp]
_base_ = [
    '../_base_/models/retinanet_r50_fpn.py',
    '../_base_/datasets/deeplesion.py',
    '../_base_/schedules/adam_100e.py',
    '../_base_/default_runtime.py',
]

train_dataloader = dict(batch_size=26)
