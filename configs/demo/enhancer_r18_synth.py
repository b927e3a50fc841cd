# CPU demo enhancer: the paper's enhancer recipe in front of the frozen demo detector
# (faster_rcnn_r18_synth.py): a quarter-width ResNet-18 regressor on 128×128 key slices.
#   python tools/train.py configs/demo/enhancer_r18_synth.py \
#       --cfg-options model.detector_checkpoint=work_dirs/demo/detector/best_deeplesion_mAP_epoch_N.pth
# Everything not set here is the paper's (objective 'surrogate', clip ∈ [1, 8], grid ∈ [2, 16],
# starting from the fixed GLCAE (2.0, 8)).
_base_ = './faster_rcnn_r18_synth.py'

model = dict(
    _delete_=True,
    type='FrozenDetectorEnhancer',
    detector={{_base_.model}},
    detector_checkpoint=None,  # required: the trained demo detector
    map_delta_interval=5,
    data_preprocessor=dict(
        type='AdaptiveCLAHEPreprocessor',
        regressor=dict(type='CLAHEParamRegressor', input_size=128, base_channels=16),
    ),
)

optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=1e-2))
train_cfg = dict(max_epochs=6, val_interval=1)
default_hooks = dict(checkpoint=dict(interval=1))
