# The paper's enhancer (Table 2): a ResNet-18 sets GLCAE's (clip, grid) per image.
# Results: configs/README.md
_base_ = [
    '_base_/models/faster_rcnn_r50_fpn.py',
    '_base_/datasets/deeplesion.py',
    '_base_/schedules/adam_100e.py',
    '_base_/default_runtime.py',
]

model = dict(
    _delete_=True,
    type='FrozenDetectorEnhancer',
    detector={{_base_.model}},
    detector_checkpoint=None,  # required: the trained detector (a loud warning if left None)
    objective='surrogate',
    map_delta_interval=10,
    # Normalisation and padding come from the detector's own data_preprocessor.
    data_preprocessor=dict(
        type='AdaptiveCLAHEPreprocessor',
        mode='learned',
        method='glcae',
        regressor=dict(
            type='CLAHEParamRegressor',
            input_size=512,
            depth=18,
            num_fc_layers=2,
            clip_range=(1.0, 8.0),
            grid_range=(2.0, 16.0),
            init_params=(2.0, 8.0),
            # ImageNet init for users with internet: dict(type='Pretrained',
            # checkpoint='torchvision://resnet18'); None trains from scratch.
            trunk_init_cfg=None,
        ),
    ),
)

optim_wrapper = dict(optimizer=dict(type='Adam', lr=1.5e-5, weight_decay=1e-2))
train_dataloader = dict(batch_size=26)
