# Transfer: the demo enhancer (trained against Faster R-CNN) before the RetinaNet.
# Results: projects/enhancement_benchmark/configs/transfer/README.md
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
