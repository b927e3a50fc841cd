"""time_roi_layers: the RoI-layer benchmark's timings and its agreement check."""

import torch
from mmcv.ops import RoIAlign

from mmlesion.models import GatherRoIAlign
from projects.enhancement_benchmark.benchmark.roi_align_timing import random_rois, time_roi_layers


def test_rois_stay_near_the_image_and_are_boxes():
    rois = random_rois(3, 50, 96, torch.Generator().manual_seed(0))
    assert rois.shape == (150, 5)
    assert set(rois[:, 0].tolist()) == {0.0, 1.0, 2.0}
    assert (rois[:, 3] > rois[:, 1]).all() and (rois[:, 4] > rois[:, 2]).all()
    assert rois[:, 1:].min() > -0.1 * 96 and rois[:, 1:].max() < 1.1 * 96


def test_reports_each_layer_and_its_difference_from_the_first():
    kwargs = dict(output_size=3, spatial_scale=0.25, sampling_ratio=2)
    layers = {
        'mmcv': RoIAlign(**kwargs),
        'gather': GatherRoIAlign(**kwargs),
        'coarser': GatherRoIAlign(output_size=3, spatial_scale=0.25, sampling_ratio=1),
    }
    results = time_roi_layers(layers, (2, 4, 8, 8), 5, stride=4, repeats=2)
    assert list(results) == ['mmcv', 'gather', 'coarser']
    assert results['mmcv']['max_abs_diff'] == 0.0
    assert results['gather']['max_abs_diff'] < 1e-5
    assert results['gather']['max_grad_diff'] < 1e-4
    assert results['coarser']['max_abs_diff'] > 1e-3  # another sampling is another function
    for timing in results.values():
        assert timing['forward_ms'] > 0 and timing['forward_backward_ms'] > 0
