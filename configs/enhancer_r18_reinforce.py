# The reinforce objective: the regressor's Gaussian policy samples (clip, grid); the reward is
# the batch mAP of the frozen detector on enhanced minus original images (the paper's exact
# quantity), optimised by the score-function gradient with a running baseline.
_base_ = './enhancer_r18.py'
model = dict(objective='reinforce')
