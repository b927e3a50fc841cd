# The paper's detector (faster_rcnn_r50_fpn_deeplesion_glcae_aug.py: R50-FPN, 512×512 2.5D input,
# batch 26, Adam, wd 1e-4, early stopping 20) on the synthetic DeepLesion generated at 512×512,
# sized for one lent GPU and a few minutes. What differs from that config, and nothing else:
# - data: the synthetic set in data/synthetic_deeplesion_512/ (same on-disk format);
# - from scratch: the GPU machine reaches no network, so no ImageNet weights (init_cfg=None), and
#   therefore no frozen stem and BatchNorm that trains (frozen random weights learn nothing);
# - learning rate 2e-4 after a 100-iteration warm-up instead of 1e-5 (a from-scratch R50 moves
#   nowhere at 1e-5 in a few hundred iterations), still constant as in the paper;
# - length: at most 30 epochs and a wall-clock budget (TrainTimeBudgetHook) instead of 100.
#   python projects/enhancement_benchmark/tools/run_demo.py --preset paper_gpu --image-size 512
_base_ = '../faster_rcnn_r50_fpn_deeplesion_glcae_aug.py'

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
