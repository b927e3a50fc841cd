# The paper's detector with the 8 coarse lesion types as classes (unlabelled ones left out).
# Results: configs/README.md
_base_ = './faster_rcnn_r50_fpn_deeplesion.py'

model = dict(roi_head=dict(bbox_head=dict(num_classes=8)))
train_dataloader = dict(dataset=dict(class_mode='coarse_type'))
val_dataloader = dict(dataset=dict(class_mode='coarse_type'))
test_dataloader = dict(dataset=dict(class_mode='coarse_type'))
