# CPU demo enhancer: a quarter-width ResNet-18 regressor before the frozen demo detector.
# Results: configs/demo/README.md
_base_ = ['./faster_rcnn_r18-w32_fpn_48e_synth.py', '../_base_/schedules/enhancer_adamw.py']

model = dict(
    _delete_=True,
    type='FrozenDetectorEnhancer',
    detector={{_base_.model}},
    detector_checkpoint=None,  # required: the trained demo detector
    map_delta_interval=5,
    data_preprocessor=dict(
        type='AdaptiveCLAHEPreprocessor',
        # Not the paper's output range: clip in [1, 32] and grid in [2, 16], both squashed in
        # log space, so that the regressor is not pinned at the end of a linear [1, 8] range;
        # the start is still the fixed GLCAE (2.0, 8).
        regressor=dict(
            type='CLAHEParamRegressor',
            input_size=128,
            base_channels=16,
            clip_range=(1.0, 32.0),
            grid_range=(2.0, 16.0),
            log_outputs=True,
        ),
    ),
)

# The enhancer sees whole, unenhanced slices: it is its job to enhance them.
train_dataloader = dict(
    sampler=dict(_delete_=True, type='RandomSubsetSampler', num_samples=320),
    dataset=dict(pipeline={{_base_.train_pipeline}}),
)
optim_wrapper = {{_base_.enhancer_optim_wrapper}}
param_scheduler = []
train_cfg = dict(max_epochs=6, val_interval=1, dynamic_intervals=None)
default_hooks = dict(checkpoint=dict(interval=1))
# The enhancer validates every epoch (the detector every second one late in its schedule).
custom_hooks = [
    dict(
        type='EarlyStoppingHook',
        monitor='deeplesion/mAP',
        rule='greater',
        min_delta=0.001,
        patience=2,
    ),
]
