# Detector transfer: the demo enhancer, trained in front of the demo Faster R-CNN, placed unchanged
# in front of the demo RetinaNet (retinanet_r18-w32_fpn_36e_synth.py). Nothing is trained here:
#   python tools/test.py projects/enhancement_benchmark/configs/transfer/enhancer_r18-w16_6e_synth_on_retinanet.py RETINANET_CHECKPOINT \
#       --cfg-options model.enhancer_checkpoint=work_dirs/demo/enhancer/best_deeplesion_mAP_epoch_N.pth
# The regressor below must match the trained enhancer's (configs/demo/enhancer_r18-w16_6e_synth.py).
_base_ = './retinanet_r18-w32_fpn_36e_synth.py'

model = dict(
    _delete_=True,
    type='FrozenDetectorEnhancer',
    detector={{_base_.model}},
    detector_checkpoint=None,  # tools/test.py loads the RetinaNet checkpoint given to it
    enhancer_checkpoint=None,  # required: the enhancer trained against the Faster R-CNN
    data_preprocessor=dict(
        type='AdaptiveCLAHEPreprocessor',
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
