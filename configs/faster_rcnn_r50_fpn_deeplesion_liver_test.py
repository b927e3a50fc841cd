# The paper's detector evaluated on the liver subset (Table 3's liver rows).
# Results: configs/README.md
_base_ = './faster_rcnn_r50_fpn_deeplesion.py'

test_dataloader = dict(dataset=dict(lesion_types=[4]))
