# The paper's enhancer before the GPU detector on the 512-pixel synthetic set.
# Results: projects/enhancement_benchmark/configs/gpu/README.md
_base_ = [
    '../../../../configs/enhancer_r18.py',
    '../../../../configs/_base_/schedules/enhancer_adamw.py',
]

data_root = 'data/synthetic_deeplesion_512/'
model = dict(detector=dict(backbone=dict(init_cfg=None)))

train_dataloader = dict(
    num_workers=12,
    sampler=dict(_delete_=True, type='RandomSubsetSampler', num_samples=520),
    dataset=dict(data_root=data_root),
)
val_dataloader = dict(batch_size=26, dataset=dict(data_root=data_root))
test_dataloader = dict(batch_size=26, dataset=dict(data_root=data_root))

optim_wrapper = {{_base_.enhancer_optim_wrapper}}
train_cfg = dict(max_epochs=30)
train_time_budget_s = 90
custom_hooks = [
    {{_base_.early_stopping}},
    dict(type='TrainTimeBudgetHook', max_seconds=train_time_budget_s),
]
default_hooks = dict(logger=dict(interval=5))
