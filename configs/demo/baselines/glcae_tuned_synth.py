# Demo baseline: fixed GLCAE at the (clip limit, grid size) that the validation grid search chose
# (the benchmark's baselines stage, mmlesion/experiments/fixed_setting_search.py; its choice is
# `tuned_setting` in work_dirs/demo/baselines/stage.json). Give that setting:
#   python tools/test.py configs/demo/baselines/glcae_tuned_synth.py DEMO_DETECTOR_CHECKPOINT \
#       --cfg-options model.data_preprocessor.fixed_params="[8.0,12.0]"
_base_ = './glcae_fixed_synth.py'
model = dict(data_preprocessor=dict(fixed_params=None))  # required: the tuned setting
