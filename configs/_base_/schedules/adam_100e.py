# The paper's detector schedule (Table 1): Adam, lr 1e-5, weight decay 1e-4, up to 100 epochs,
# early stopping after 20 epochs without a better validation mAP.
optim_wrapper = dict(
    type='OptimWrapper',  # tools/train.py --amp switches to fp16 AmpOptimWrapper (bf16 fails:
    # mmcv 2.1's CUDA roi_align has no bfloat16 kernel).
    optimizer=dict(type='Adam', lr=1e-5, weight_decay=1e-4),
)
param_scheduler = []  # constant learning rate, as in the paper

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# mmengine's default min_delta=0.1 would count almost no mAP change (mAP is in [0, 1]) as an
# improvement: 0.001 = 0.1 mAP points is the smallest gain worth waiting for.
early_stopping = dict(
    type='EarlyStoppingHook',
    monitor='deeplesion/mAP',
    rule='greater',
    min_delta=0.001,
    patience=20,
)
custom_hooks = [early_stopping]

# `tools/train.py --auto-scale-lr` scales lr linearly from the paper's batch of 26.
auto_scale_lr = dict(enable=False, base_batch_size=26)
