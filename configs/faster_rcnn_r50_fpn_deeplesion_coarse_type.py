# The paper's detector with the 8 coarse lesion types as classes (bone, abdomen, mediastinum,
# liver, lung, kidney, soft tissue, pelvis); unlabelled (-1) lesions are left out.
# On the real release the whole train split is unlabelled: train on the labelled val rows, e.g.
#   --cfg-options train_dataloader.dataset.split=val \
#       "train_dataloader.dataset.patient_holdout={'fraction':0.2,'seed':0,'part':'rest'}" \
#       "val_dataloader.dataset.patient_holdout={'fraction':0.2,'seed':0,'part':'holdout'}"
_base_ = './faster_rcnn_r50_fpn_deeplesion.py'

model = dict(roi_head=dict(bbox_head=dict(num_classes=8)))
train_dataloader = dict(dataset=dict(class_mode='coarse_type'))
val_dataloader = dict(dataset=dict(class_mode='coarse_type'))
test_dataloader = dict(dataset=dict(class_mode='coarse_type'))
