"""Nuisance copies, the null oracle and the cross-fit oracle, with a frozen detector stand-in.

The stand-in finds the bright square of a toy slice exactly, then snaps the box outwards to a
grid of ``stride`` pixels of its input, as a detector's anchors and strides do: a few-pixel
shift changes the snapped box, not the square it found. Its detections thus move under a shift
in a controlled way, and a shift of zero moves nothing.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from projects.enhancement_benchmark.benchmark.nuisance import (
    NO_NUISANCE,
    Nuisance,
    apply_nuisance,
    shift_copies,
    shift_image,
    unshift_boxes,
)
from projects.enhancement_benchmark.benchmark.oracle import (
    candidate_spread,
    crossfit_choice,
    null_oracle,
    oracle_choice,
)
from projects.enhancement_benchmark.benchmark.setting_sweep import SweepResult, records_metrics

SIZE = 64
CLASSES = ('lesion',)


def toy_slices(num: int = 12, seed: int = 0) -> list[tuple[str, torch.Tensor, np.ndarray]]:
    """(name, image ``(1, H, W)`` in 0..255, lesion box ``(1, 4)``) of slices with one square."""
    rng = np.random.default_rng(seed)
    slices = []
    for i in range(num):
        side = int(rng.integers(9, 20))
        y, x = (int(v) for v in rng.integers(8, SIZE - side - 8, size=2))
        image = torch.zeros(1, SIZE, SIZE)
        image[:, y : y + side, x : x + side] = 200.0
        slices.append((f's{i}', image, np.array([[x, y, x + side, y + side]], float)))
    return slices


def stand_in(image: torch.Tensor, stride: int = 8, score: float = 0.9) -> tuple:
    """Boxes and scores of the stand-in detector on one input ``(1, H, W)``."""
    ys, xs = torch.nonzero(image[0] > 100, as_tuple=True)
    if len(ys) == 0:
        return np.zeros((0, 4)), np.zeros(0)
    box = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], float)
    snapped = np.r_[np.floor(box[:2] / stride), np.ceil(box[2:] / stride)] * stride
    return snapped[None], np.array([score])


def records_on(slices, nuisance: Nuisance, stride: int = 8) -> list[dict]:
    """The stand-in's records on ``nuisance`` copies of ``slices``, boxes shifted back."""
    out = []
    for name, image, lesion in slices:
        boxes, scores = stand_in(apply_nuisance(image, nuisance, name), stride)
        out.append(
            {
                'img_path': f'{name}.png',
                'img_id': name,
                'gt_bboxes': lesion,
                'gt_labels': np.zeros(1, int),
                'gt_ignore': np.zeros(1, bool),
                'pred_bboxes': unshift_boxes(boxes, nuisance, ori_shape=(SIZE, SIZE)),
                'pred_scores': scores,
                'pred_labels': np.zeros(len(scores), int),
            }
        )
    return out


def square_shifts(max_shift: int) -> list[Nuisance]:
    """The original, then every shift of ``[-max_shift, max_shift]²``: nested as it grows."""
    return [NO_NUISANCE] + [
        Nuisance(dy, dx)
        for dy in range(-max_shift, max_shift + 1)
        for dx in range(-max_shift, max_shift + 1)
        if (dy, dx) != (0, 0)
    ]


def test_a_shift_moves_the_content_and_replicates_the_edge():
    image = torch.arange(12.0).reshape(1, 3, 4)
    shifted = shift_image(image, 1, -1)
    assert shifted.shape == image.shape
    assert torch.equal(shifted[0, 1:, :3], image[0, :2, 1:])  # content moved down and left
    assert torch.equal(shifted[0, 0, :3], image[0, 0, 1:])  # the top row replicated
    assert torch.equal(shifted[0, :, 3], shifted[0, :, 2])  # the right column replicated
    assert apply_nuisance(image, NO_NUISANCE) is image


def test_boxes_found_on_a_shifted_copy_come_back_to_the_original_frame():
    slices = toy_slices()
    exact = [records_on(slices, n, stride=1) for n in (NO_NUISANCE, Nuisance(3, -2))]
    for original, shifted in zip(*exact, strict=True):
        assert np.array_equal(original['pred_bboxes'], shifted['pred_bboxes'])
        assert np.array_equal(original['pred_bboxes'], original['gt_bboxes'])
    # In input pixels of a slice resized by 2: half the shift in original pixels; clipped.
    box = np.array([[1.0, 10.0, 20.0, 30.0]])
    back = unshift_boxes(box, Nuisance(4, 4), scale_factor=(2.0, 2.0), ori_shape=(64, 64))
    assert np.allclose(back, [[0.0, 8.0, 18.0, 28.0]])


def test_the_dither_is_half_a_gray_level_and_the_same_in_every_run():
    image = torch.full((1, 8, 8), 100.0)
    copy = Nuisance(dither=0.5, seed=3)
    noisy = apply_nuisance(image, copy, 'a.png')
    assert noisy.abs().sub(100).abs().max() <= 0.5 and not torch.equal(noisy, image)
    assert torch.equal(noisy, apply_nuisance(image, copy, 'a.png'))
    assert not torch.equal(noisy, apply_nuisance(image, copy, 'b.png'))


def test_shift_copies_start_with_the_original_and_are_distinct():
    copies = shift_copies(8, 2, seed=1)
    assert copies[0] == NO_NUISANCE and len(set(copies)) == 8
    assert all(max(abs(c.shift_y), abs(c.shift_x)) <= 2 for c in copies)
    assert copies == shift_copies(8, 2, seed=1)
    with pytest.raises(ValueError, match='has only 8 shifts'):
        shift_copies(10, 1)
    with pytest.raises(ValueError, match='need a dither'):
        shift_copies(3, 0)


def test_null_oracle_margin_is_non_negative_and_shrinks_with_the_nuisance():
    slices = toy_slices()
    margins = {}
    for max_shift in (0, 1, 2, 4):
        copies = {n: records_on(slices, n) for n in square_shifts(max_shift)}
        null = null_oracle(copies, CLASSES)
        margins[max_shift] = (null['margin_slice_ap'], null['margin_map'])
        assert null['margin_slice_ap'] >= 0 and null['margin_map'] >= 0
        spread = candidate_spread(copies, CLASSES, null['slice_ap'])
        assert spread['num_candidates'] == len(copies)
    assert margins[0] == (0.0, 0.0)  # one copy, the original: nothing to select
    per_slice = [margins[s][0] for s in (0, 1, 2, 4)]
    assert per_slice == sorted(per_slice) and per_slice[-1] > 0.05
    pooled = [margins[s][1] for s in (0, 1, 2, 4)]
    assert pooled == sorted(pooled) and pooled[-1] > 0


def test_a_detector_that_ignores_the_shift_leaves_the_null_oracle_nothing():
    slices = toy_slices()
    copies = {n: records_on(slices, n, stride=1) for n in square_shifts(2)}
    null = null_oracle(copies, CLASSES)
    assert null['margin_slice_ap'] == 0.0 and null['margin_map'] == 0.0
    assert set(null['settings']) == {NO_NUISANCE}  # the original wins every tie


#: Stand-in "settings": each snaps to its own stride, so the best setting differs by slice.
STRIDES = {(1.0, 4.0): 8, (2.0, 8.0): 6, (4.0, 16.0): 5}


def settings_sweep(slices, nuisance: Nuisance) -> SweepResult:
    records = {s: records_on(slices, nuisance, stride) for s, stride in STRIDES.items()}
    return SweepResult(list(STRIDES), records, CLASSES, 'test', 0.0)


def test_crossfit_equals_the_oracle_without_nuisance_and_is_below_it_with_one():
    slices = toy_slices(20)
    original = settings_sweep(slices, NO_NUISANCE)
    oracle = oracle_choice(original)
    same = crossfit_choice(settings_sweep(slices, NO_NUISANCE), original)
    assert same['settings'] == oracle['settings'] and same['agreement'] == 1.0
    assert all(a is b for a, b in zip(same['records'], oracle['records'], strict=True))
    shifted = crossfit_choice(settings_sweep(slices, Nuisance(3, 3)), original)
    assert (shifted['chosen_ap'] <= oracle['chosen_ap']).all()
    assert shifted['chosen_ap'].mean() < oracle['chosen_ap'].mean()
    assert shifted['agreement'] < 1.0
    assert (
        records_metrics(shifted['records'], CLASSES)['deeplesion/mAP']
        <= records_metrics(oracle['records'], CLASSES)['deeplesion/mAP']
    )


def test_crossfit_refuses_sweeps_of_other_slices():
    slices = toy_slices(4)
    other = settings_sweep(toy_slices(4, seed=1)[::-1], NO_NUISANCE)
    for records in other.records.values():
        for i, r in enumerate(records):
            r['img_path'] = f'x{i}.png'
    with pytest.raises(ValueError, match='faces'):
        crossfit_choice(other, settings_sweep(slices, NO_NUISANCE))
