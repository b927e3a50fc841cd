# The demo detector fine-tuned on a new scanner's train split: all weights, from the site-A
# checkpoint (load_from, required), 8 short epochs at a tenth of the demo learning rate.
# Results: projects/enhancement_benchmark/configs/new_scanner/README.md
_base_ = '../../../../configs/demo/faster_rcnn_r18-w32_fpn_48e_synth.py'

load_from = None  # required: the site-A detector, e.g. --cfg-options load_from=work_dirs/...pth

# Each epoch a fresh draw of 256 patches of the (small) labelled set, so that an epoch costs the
# same whatever the number of labelled patients (a set smaller than that is repeated).
train_dataloader = dict(sampler=dict(_delete_=True, type='RandomSubsetSampler', num_samples=256))

max_epochs = 8
optim_wrapper = dict(optimizer=dict(lr=2e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=2e-6,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True,
    ),
]
# Validated every epoch: the best epoch on the new scanner's validation split is kept
# (save_best), which chooses the schedule's length.
train_cfg = dict(max_epochs=max_epochs, val_interval=1, dynamic_intervals=None)
default_hooks = dict(checkpoint=dict(interval=1))
