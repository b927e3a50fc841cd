# Transfer baseline: fixed GLCAE (clip limit 2.0, 8×8 tiles) in front of the demo RetinaNet.
#   python tools/test.py configs/transfer/retinanet_r18_synth_glcae_fixed.py RETINANET_CHECKPOINT
_base_ = './enhancer_r18_synth_on_retinanet.py'
model = dict(data_preprocessor=dict(mode='fixed', fixed_params=(2.0, 8), regressor=None))
