# The paper's enhancer (enhancer_r18.py: ResNet-18 regressor on 512×512 key slices, batch 26,
# objective 'surrogate', weight decay 1e-2, early stopping 20) in front of the frozen
# faster_rcnn_r50_fpn_30e_synth512.py detector, sized for one lent GPU and a few minutes. What
# differs from enhancer_r18.py, and nothing else:
# - data: the synthetic set in data/synthetic_deeplesion_512/;
# - the frozen detector is built without ImageNet init (its weights come from its checkpoint);
# - AdamW at 3e-3 for the heads and 3e-4 for the trunk instead of Adam at 1.5e-5, as the demo
#   enhancer (configs/demo/enhancer_r18-w16_6e_synth.py says why: 1.5e-5 moves nothing in this budget,
#   and Adam's coupled weight decay collapses the trunk at a rate that does);
# - length: epochs of 520 random training slices (20 iterations), at most 30, and a wall-clock
#   budget (TrainTimeBudgetHook).
#   python projects/enhancement_benchmark/tools/run_demo.py --preset paper_gpu --image-size 512
_base_ = ['../enhancer_r18.py', '../_base_/schedules/enhancer_adamw.py']

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
