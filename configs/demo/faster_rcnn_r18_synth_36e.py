# The demo detector (faster_rcnn_r18_synth.py) over 36 epochs instead of 28: the time the
# faster RoIAlign saved, spent on training (measured: docs/en/results.md).
#   python tools/train.py configs/demo/faster_rcnn_r18_synth_36e.py
_base_ = './faster_rcnn_r18_synth.py'

max_epochs = 36
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
train_cfg = dict(max_epochs=max_epochs, val_interval=8, dynamic_intervals=[(24, 4), (32, 2)])
