# Evaluation on the liver subset (the paper's Table 3 liver rows): only test key slices holding
# a liver lesion; other lesions on them are ignored. (DeepLesionMetric reports the same subset
# as deeplesion/liver_* in every evaluation.)
#   python tools/test.py configs/faster_rcnn_r50_fpn_deeplesion_liver_test.py CHECKPOINT
_base_ = './faster_rcnn_r50_fpn_deeplesion.py'

test_dataloader = dict(dataset=dict(lesion_types=[4]))
