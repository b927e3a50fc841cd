# Runtime shared by every mmlesion config: mmdet's registries, with mmlesion's components added
# by importing the package.
default_scope = 'mmdet'
custom_imports = dict(imports=['mmlesion'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Keeps the last checkpoints and the best one on the validation mAP; a full disk while saving
    # leaves the previous ones complete (mmlesion/engine/hooks/safe_checkpoint_hook.py).
    checkpoint=dict(
        type='SafeCheckpointHook',
        interval=1,
        max_keep_ckpts=2,
        save_best='deeplesion/mAP',
        rule='greater',
    ),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # Subnormal floats to zero: AdamW decays unused weights into that range, where a CPU is
    # slow; mmlesion/utils/denormals.py.
    flush_denormals=dict(type='FlushDenormalsHook'),
    # Which data the weights learned from, in each checkpoint's meta (synthetic or not).
    data_provenance=dict(type='DataProvenanceHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
# No fixed name: each Runner's visualizer is named after its experiment, so several runs in one
# process (the demo) keep separate logs.
visualizer = dict(type='DetLocalVisualizer', vis_backends=vis_backends)
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)

log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
