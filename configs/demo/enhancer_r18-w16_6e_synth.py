# CPU demo enhancer: the paper's enhancer recipe in front of the frozen demo detector
# (faster_rcnn_r18-w32_fpn_48e_synth.py): a quarter-width ResNet-18 regressor on 128×128 key slices.
#   python tools/train.py configs/demo/enhancer_r18-w16_6e_synth.py \
#       --cfg-options model.detector_checkpoint=work_dirs/demo/detector/best_deeplesion_mAP_epoch_N.pth
# As the paper: objective 'surrogate', starting from the fixed
# GLCAE (2.0, 8), a constant learning rate, weight decay 1e-2, early stopping on the validation
# mAP (patience 2 of 6 epochs, near the paper's 20 of 100). For the CPU budget: 6 epochs of 320
# random training slices each, learning rate 3e-3 for the heads and 3e-4 for the trunk (the
# paper's 1.5e-5 moves the parameters by hundredths in this budget), and AdamW: with Adam's L2
# form of weight decay at such a rate the decay term outweighs the small gradients of the
# regressor's trunk, which collapsed to zero output within 240 steps (measured: every slice then
# gets the same parameters).
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
        # log space. With the paper's linear [1, 8] squash the demo regressor ended pinned at
        # clip 7.98 on seed 0 (its sigmoid ~43x flatter there than at the start): the range,
        # not the data, decided. [1, 32] spans the validation grid search of the benchmark
        # (fixed_setting_search.py); the start is still the fixed GLCAE (2.0, 8).
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
# The detector schedule's patience 3 counts its validations every 2 epochs; the enhancer validates
# every epoch. On all three demo seeds the best epoch came before two epochs without a gain, so
# patience 2 keeps the same model and saves one epoch (measured: README).
custom_hooks = [
    dict(
        type='EarlyStoppingHook',
        monitor='deeplesion/mAP',
        rule='greater',
        min_delta=0.001,
        patience=2,
    ),
]
