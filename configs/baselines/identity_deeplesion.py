# Baseline: the frozen paper detector alone, through the enhancer wrapper.
# Results: configs/baselines/README.md
_base_ = '../enhancer_r18.py'
model = dict(data_preprocessor=dict(mode='identity', regressor=None))
