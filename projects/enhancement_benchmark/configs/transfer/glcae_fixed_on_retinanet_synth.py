# Transfer baseline: fixed GLCAE (clip limit 2.0, 8×8 tiles) in front of the demo RetinaNet.
#   python tools/test.py projects/enhancement_benchmark/configs/transfer/glcae_fixed_on_retinanet_synth.py RETINANET_CHECKPOINT
_base_ = './enhancer_r18-w16_6e_synth_on_retinanet.py'
model = dict(data_preprocessor=dict(mode='fixed', fixed_params=(2.0, 8), regressor=None))
