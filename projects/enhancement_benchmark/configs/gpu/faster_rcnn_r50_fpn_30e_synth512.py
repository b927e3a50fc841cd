# The paper's detector (glcae_aug) from scratch on the 512-pixel synthetic set, one GPU.
# Results: projects/enhancement_benchmark/configs/gpu/README.md
_base_ = '../../../../configs/faster_rcnn_r50_fpn_deeplesion_glcae_aug.py'

data_root = 'data/synthetic_deeplesion_512/'
model = dict(backbone=dict(init_cfg=None, frozen_stages=-1, norm_eval=False))

train_dataloader = dict(num_workers=12, dataset=dict(data_root=data_root))
val_dataloader = dict(batch_size=26, dataset=dict(data_root=data_root))
test_dataloader = dict(batch_size=26, dataset=dict(data_root=data_root))

optim_wrapper = dict(optimizer=dict(lr=2e-4))
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100)]
train_cfg = dict(max_epochs=30)
train_time_budget_s = 180
custom_hooks = [
    {{_base_.early_stopping}},
    dict(type='TrainTimeBudgetHook', max_seconds=train_time_budget_s),
]
default_hooks = dict(logger=dict(interval=10))
