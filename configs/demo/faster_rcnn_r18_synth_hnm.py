# The demo detector (faster_rcnn_r18_synth.py) with hard negatives mined on whole slices: before
# epochs 17, 25 and 31 the detector in training runs on every whole training slice and keeps
# each slice's 4 best-scored detections that overlap no lesion (HardNegativeMiningHook); from
# then on the background patches (a fifth of all) are placed around those instead of anywhere.
# Aimed at the false positives on the background: four in five of the 36-epoch detector's
# best-scored detections (4 an image, seed 0, test) overlap no lesion (docs/en/results.md).
#   python tools/train.py configs/demo/faster_rcnn_r18_synth_hnm.py
_base_ = './faster_rcnn_r18_synth.py'

train_dataloader = dict(
    dataset=dict(
        pipeline=[
            {{_base_.load_slices}},
            {{_base_.hu_window}},
            dict(type='RandomGLCAE', prob=0.5),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(type='RandomLesionCrop', crop_size=(96, 96), hard_negative_prob=1.0),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackDetInputs', meta_keys={{_base_.meta_keys}}),
        ]
    )
)
# A named hook in default_hooks (which mmengine merges with the inherited ones) rather than a
# custom hook, so that the schedule's early stopping in custom_hooks is inherited as it is.
default_hooks = dict(
    hard_negative_mining=dict(
        type='HardNegativeMiningHook', mine_at_epochs=(17, 25, 31), per_slice=4
    )
)
