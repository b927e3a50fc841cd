# Transfer baseline: the demo RetinaNet alone (no enhancement).
# Results: projects/enhancement_benchmark/configs/transfer/README.md
_base_ = './enhancer_r18-w16_6e_synth_on_retinanet.py'
model = dict(data_preprocessor=dict(mode='identity', regressor=None))
