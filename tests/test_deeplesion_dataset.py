"""DeepLesionDataset on hand-written rows with the real release's quirks."""

import pytest

from mmlesion.datasets import COARSE_LESION_TYPES, DeepLesionDataset, deeplesion


def build(root, **kwargs):
    kwargs.setdefault('split', 'train')
    return DeepLesionDataset(
        data_root=str(root),
        ann_file='DL_info.csv',
        data_prefix={'img': 'Images_png/'},
        pipeline=[],
        **kwargs,
    )


def item_by_id(dataset, file_name):
    return next(
        dataset.get_data_info(i)
        for i in range(len(dataset))
        if dataset.get_data_info(i)['img_id'] == file_name
    )


def test_one_item_per_key_slice_with_lesions_grouped(quirky_deeplesion):
    dataset = build(quirky_deeplesion, split='train')
    assert len(dataset) == 2  # 3 train rows on 2 key slices
    item = item_by_id(dataset, '000001_01_01_010.png')
    assert len(item['instances']) == 2
    assert item['img_path'].endswith('Images_png/000001_01_01/010.png')
    assert item['spacing_mm'] == (0.8, 0.8, 2.0)
    assert item['slice_interval_mm'] == 2.0
    assert item['key_slice_index'] == 10
    assert item['slice_range'] == (8, 12)
    assert item['dicom_window'] == (-175.0, 275.0)
    assert (item['height'], item['width']) == (64, 64)
    assert item['possibly_noisy'] is True
    first = item['instances'][0]
    assert first['bbox'] == [15.0, 20.0, 45.0, 40.0]
    assert first['bbox_label'] == 0 and first['ignore_flag'] == 0
    assert first['lesion_type'] == 4
    assert first['long_diameter_mm'] == pytest.approx(16.0)
    assert len(first['recist_px']) == 8
    assert item['lesion_types'] == [4, 5]
    assert item['lesion_diameters_mm'] == pytest.approx([16.0, 7.2])


def test_agnostic_mode_has_one_class(quirky_deeplesion):
    dataset = build(quirky_deeplesion)
    assert dataset.metainfo['classes'] == ('lesion',)


def test_coarse_type_mode_drops_unlabelled_and_logs(quirky_deeplesion, monkeypatch):
    logged = []
    monkeypatch.setattr(deeplesion, 'print_log', lambda msg, **kwargs: logged.append(msg))
    dataset = build(quirky_deeplesion, class_mode='coarse_type')
    assert dataset.metainfo['classes'] == COARSE_LESION_TYPES
    assert len(dataset) == 1  # the slice holding only the -1 lesion disappears
    labels = [inst['bbox_label'] for inst in dataset.get_data_info(0)['instances']]
    assert labels == [3, 4]  # liver, lung
    assert any('left out 1 of 3 lesions with Coarse_lesion_type -1' in m for m in logged)


@pytest.mark.parametrize(('split', 'count'), [('train', 2), ('val', 1), ('test', 2), (None, 5)])
def test_split_selects_rows(quirky_deeplesion, split, count):
    assert len(build(quirky_deeplesion, split=split)) == count


def test_noisy_lesions_ignore_and_drop(quirky_deeplesion):
    ignored = item_by_id(build(quirky_deeplesion, noisy_lesions='ignore'), '000001_01_01_010.png')
    assert [inst['ignore_flag'] for inst in ignored['instances']] == [0, 1]
    assert ignored['lesion_types'] == [4]  # metric meta keys follow the non-ignored lesions
    dropped = item_by_id(build(quirky_deeplesion, noisy_lesions='drop'), '000001_01_01_010.png')
    assert len(dropped['instances']) == 1


def test_patient_filter(quirky_deeplesion):
    dataset = build(quirky_deeplesion, split=None, patient_ids=[3])
    assert {dataset.get_data_info(i)['patient_index'] for i in range(len(dataset))} == {3}


def test_patient_holdout_parts_are_complementary_and_seeded(quirky_deeplesion):
    def patients(part, seed):
        holdout = {'fraction': 0.34, 'seed': seed, 'part': part}
        dataset = build(quirky_deeplesion, split=None, patient_holdout=holdout)
        return {dataset.get_data_info(i)['patient_index'] for i in range(len(dataset))}

    held, rest = patients('holdout', 0), patients('rest', 0)
    assert held and rest and not held & rest
    assert held | rest == {1, 2, 3}
    assert patients('holdout', 0) == held  # deterministic
    assert len(held) == 2  # ceil(0.34 * 3) patients


def test_liver_indices(quirky_deeplesion):
    dataset = build(quirky_deeplesion, split=None)
    liver = [dataset.get_data_info(i)['img_id'] for i in dataset.liver_indices()]
    assert liver == ['000001_01_01_010.png']


def test_lesion_type_subset_keeps_slices_and_ignores_other_lesions(quirky_deeplesion):
    dataset = build(quirky_deeplesion, split=None, lesion_types=[4])
    assert len(dataset) == 1
    item = dataset.get_data_info(0)
    assert [inst['ignore_flag'] for inst in item['instances']] == [0, 1]  # liver kept, lung ignored
    assert item['lesion_types'] == [4]


def test_empty_selection_explains_itself(quirky_deeplesion):
    with pytest.raises(ValueError, match='no key slice'):
        build(quirky_deeplesion, split='val', patient_ids=[1])


@pytest.mark.parametrize(
    ('kwargs', 'message'),
    [
        ({'split': 'training'}, 'split must be'),
        ({'class_mode': 'organ'}, 'class_mode must be'),
        ({'noisy_lesions': 'maybe'}, 'noisy_lesions must be'),
        ({'patient_holdout': {'fraction': 1.5, 'part': 'rest'}}, 'fraction'),
        ({'patient_holdout': {'fraction': 0.2, 'part': 'train'}}, 'part'),
    ],
)
def test_bad_arguments_are_named(quirky_deeplesion, kwargs, message):
    with pytest.raises(ValueError, match=message):
        build(quirky_deeplesion, **kwargs)


def test_random_subset_sampler_draws_a_fresh_subset_every_epoch():
    from mmlesion.datasets import RandomSubsetSampler

    sampler = RandomSubsetSampler(list(range(100)), num_samples=30, seed=0)
    first = list(sampler)
    assert len(first) == len(sampler) == 30 and len(set(first)) == 30
    assert list(sampler) == first  # same epoch, same subset
    sampler.set_epoch(1)
    second = list(sampler)
    assert len(set(second)) == 30 and second != first
    assert len(list(RandomSubsetSampler(list(range(10)), num_samples=30, seed=0))) == 10
