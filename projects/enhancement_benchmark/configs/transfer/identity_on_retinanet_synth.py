# Transfer baseline: the demo RetinaNet alone (no enhancement).
#   python tools/test.py projects/enhancement_benchmark/configs/transfer/identity_on_retinanet_synth.py RETINANET_CHECKPOINT
_base_ = './enhancer_r18-w16_6e_synth_on_retinanet.py'
model = dict(data_preprocessor=dict(mode='identity', regressor=None))
