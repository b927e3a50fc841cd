# The NIH DeepLesion release as distributed: data/DeepLesion/DL_info.csv and
# data/DeepLesion/Images_png/<patient>_<study>_<series>/<slice>.png.
dataset_type = 'DeepLesionDataset'
data_root = 'data/DeepLesion/'

# 2.5D input: the key slice and its neighbours 2 mm away (interpolated between stored slices),
# mapped through 3DCE's single wide window that covers lung, soft tissue and bone.
load_slices = dict(type='LoadDeepLesionSlices', num_slices=3, slice_interval_mm=2.0)
hu_window = dict(type='HUWindow', windows=[(-1024, 3071)])
# Besides mmdet's, the per-lesion type and RECIST diameter (mm) travel to DeepLesionMetric, and
# whether the slice has a Possibly_noisy row (checked by its '3dce' and 'mulan' protocols).
meta_keys = (
    'img_id',
    'img_path',
    'ori_shape',
    'img_shape',
    'scale_factor',
    'flip',
    'flip_direction',
    'spacing_mm',
    'lesion_types',
    'lesion_diameters_mm',
    'possibly_noisy',
)

train_pipeline = [
    load_slices,
    hu_window,
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RescaleToSpacing', target_spacing_mm=0.8),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs', meta_keys=meta_keys),
]
test_pipeline = [
    load_slices,
    hu_window,
    dict(type='RescaleToSpacing', target_spacing_mm=0.8),
    # After the resize, so ground truth stays in original pixels like the predictions.
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=meta_keys),
]

dataset_common = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file='DL_info.csv',
    data_prefix=dict(img='Images_png/'),
    class_mode='agnostic',
)
train_dataloader = dict(
    batch_size=26,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**dataset_common, split='train', pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**dataset_common, split='val', test_mode=True, pipeline=test_pipeline),
)
test_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**dataset_common, split='test', test_mode=True, pipeline=test_pipeline),
)

val_evaluator = dict(type='DeepLesionMetric', iou_thr=0.5)
test_evaluator = val_evaluator
