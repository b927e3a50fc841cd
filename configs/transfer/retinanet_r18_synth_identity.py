# Transfer baseline: the demo RetinaNet alone (no enhancement).
#   python tools/test.py configs/transfer/retinanet_r18_synth_identity.py RETINANET_CHECKPOINT
_base_ = './enhancer_r18_synth_on_retinanet.py'
model = dict(data_preprocessor=dict(mode='identity', regressor=None))
