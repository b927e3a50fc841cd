# GPU baseline: the frozen faster_rcnn_r50_fpn_30e_synth512.py detector alone (no enhancement).
_base_ = '../enhancer_r18_30e_synth512.py'
model = dict(data_preprocessor=dict(mode='identity', regressor=None))
