# The reinforce objective: a Gaussian policy over (clip, grid), rewarded by the mAP gain.
# Results: configs/README.md
_base_ = './enhancer_r18.py'
model = dict(objective='reinforce')
