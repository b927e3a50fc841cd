# The enhancer optimiser of the short (CPU demo, GPU slot) enhancer schedules: AdamW at 1e-2 for
# the regressor's heads and 1e-3 for its stem and trunk. The paper's Adam at 1.5e-5 moves the
# parameters by hundredths in such a budget, and with Adam's coupled (L2) weight decay at these
# rates the trunk collapsed to a constant output (configs/demo/enhancer_r18_synth.py). Only the
# regressor trains: the frozen detector is left out of the optimizer in one log line.
# A config takes it with `optim_wrapper = {{_base_.enhancer_optim_wrapper}}`.
enhancer_optim_wrapper = dict(
    type='OptimWrapper',
    constructor='TrainableParamsOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=1e-2, weight_decay=1e-2),
    paramwise_cfg=dict(
        custom_keys={
            'regressor.trunk': dict(lr_mult=0.1),
            'regressor.stem': dict(lr_mult=0.1),
        }
    ),
)
