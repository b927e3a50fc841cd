# The demo detector (faster_rcnn_r18_synth.py) over 36 epochs instead of 48: the default before
# 2026-12-02 (fifth session), quicker in `make demo` at a lower sensitivity (measured:
# docs/en/results.md, "Spent on training"). Its schedule: ../_base_/schedules/adam_demo_36e.py.
#   python tools/run_demo.py --detector-config configs/demo/faster_rcnn_r18_synth_36e.py
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
