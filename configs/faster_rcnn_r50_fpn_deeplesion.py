# The paper's detector (Table 1): Faster R-CNN R50-FPN on DeepLesion key slices (2.5D, 3 slices),
# class-agnostic ("lesion"), batch 26, Adam lr 1e-5, weight decay 1e-4, up to 100 epochs with
# early stopping (patience 20) on the validation mAP; the best checkpoint is kept.
#   python tools/train.py configs/faster_rcnn_r50_fpn_deeplesion.py [--amp]
_base_ = [
    '_base_/models/faster_rcnn_r50_fpn.py',
    '_base_/datasets/deeplesion.py',
    '_base_/schedules/adam_100e.py',
    '_base_/default_runtime.py',
]

train_dataloader = dict(batch_size=26)
