# The paper's enhancer (Table 2): a ResNet-18 regresses, per image, the CLAHE clip limit and grid
# size of the GLCAE enhancement in front of the frozen Faster R-CNN R50-FPN of
# faster_rcnn_r50_fpn_deeplesion.py. Batch 26, up to 100 epochs, Adam lr 1.5e-5, weight decay
# 1e-2, early stopping (patience 20) on the validation mAP of the enhanced pipeline.
#   python tools/train.py configs/enhancer_r18.py \
#       --cfg-options model.detector_checkpoint=work_dirs/faster_rcnn_r50_fpn_deeplesion/best_deeplesion_mAP_epoch_N.pth
_base_ = ['./faster_rcnn_r50_fpn_deeplesion.py']

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
