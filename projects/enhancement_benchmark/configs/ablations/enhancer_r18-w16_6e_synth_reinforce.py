# The reinforce objective at demo scale: the regressor's Gaussian policy samples (clip, grid); the
# reward is the batch mAP of the frozen detector on enhanced minus original slices.
_base_ = '../enhancer_r18-w16_6e_synth.py'
model = dict(objective='reinforce')
