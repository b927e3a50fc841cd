# The enhancer optimiser of the short (CPU demo, GPU) enhancer schedules: AdamW at 3e-3 for the
# regressor's heads and 3e-4 for its stem and trunk. Adam's coupled (L2) weight decay at such rates
# collapses the trunk to a constant output, and the paper's 1.5e-5 barely moves the parameters in
# such a budget. Only the regressor trains: the frozen detector is left out of the optimizer.
# A config takes it with `optim_wrapper = {{_base_.enhancer_optim_wrapper}}`.
enhancer_optim_wrapper = dict(
    type='OptimWrapper',
    constructor='TrainableParamsOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=3e-3, weight_decay=1e-2),
    paramwise_cfg=dict(
        custom_keys={
            'regressor.trunk': dict(lr_mult=0.1),
            'regressor.stem': dict(lr_mult=0.1),
        }
    ),
)
