# Transfer baseline: fixed GLCAE (clip limit 2.0, 8×8 tiles) before the demo RetinaNet.
# Results: projects/enhancement_benchmark/configs/transfer/README.md
_base_ = './enhancer_r18-w16_6e_synth_on_retinanet.py'
model = dict(data_preprocessor=dict(mode='fixed', fixed_params=(2.0, 8), regressor=None))
