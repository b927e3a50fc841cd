# GPU baseline: the frozen faster_rcnn_r50_fpn_synth_gpu.py detector alone (no enhancement).
_base_ = '../enhancer_r18_synth_gpu.py'
model = dict(data_preprocessor=dict(mode='identity', regressor=None))
