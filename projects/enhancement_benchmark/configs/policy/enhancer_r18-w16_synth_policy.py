# A per-image choice among identity and the 18 GLCAE settings of the validation grid search,
# trained from the frozen demo detector's per-slice losses (train_policy.py, not tools/train.py).
# Results: projects/enhancement_benchmark/configs/policy/README.md
_base_ = '../../../../configs/demo/enhancer_r18-w16_6e_synth.py'

model = dict(
    data_preprocessor=dict(
        _delete_=True,
        type='PolicyEnhancementPreprocessor',
        regressor=dict(
            type='SettingPolicy',
            # Identity first (an untrained policy is the detector alone), then the search grid
            # of glcae_tuned (fixed_setting_search.py), so that the policy chooses among
            # exactly the settings the tuned baseline does.
            settings=[
                None,
                *[
                    (clip, grid)
                    for clip in (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
                    for grid in (4.0, 8.0, 16.0)
                ],
            ],
            # All three input channels at the slice's own resolution, plus the local standard
            # deviation of the soft-tissue window: see SettingPolicy for why.
            in_channels=3,
            local_std_channel=0,
            local_std_window=5,
            input_size=None,
            # Quarter the demo detector's backbone width, at its resolution: a small share of
            # its time per image.
            base_channels=8,
        ),
    ),
)
# The training of policy_training.py's TRAINING_DEFAULTS (the detector's loss, AdamW 1e-3 with
# weight decay 1e-2, batch 32, random flips, at most 100 epochs), stopped after 20 epochs without
# a lower validation loss (the paper's patience).
policy_training = dict(patience=20)
