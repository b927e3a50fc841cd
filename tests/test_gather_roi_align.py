"""GatherRoIAlign: mmcv's RoIAlign (average mode) as weighted row gathers, and the RoI
extractor that builds it from the registry."""

import pytest
import torch
from mmcv.ops import RoIAlign

from mmlesion.models import GatherRoIAlign, RegisteredLayerRoIExtractor, gather_roi_align


def random_rois(images: int, per_image: int, image_size: float, seed: int) -> torch.Tensor:
    """``(images * per_image, 5)`` RoIs, some reaching past the image and some degenerate."""
    generator = torch.Generator().manual_seed(seed)
    rois = []
    for index in range(images):
        corner = (torch.rand(per_image, 2, generator=generator) * 1.3 - 0.15) * image_size
        size = torch.rand(per_image, 2, generator=generator) * 0.6 * image_size
        size[0] = 0.0  # a point RoI
        size[1, 0] = 0.3  # thinner than a feature pixel
        boxes = torch.cat([corner, corner + size], dim=1)
        rois.append(torch.cat([torch.full((per_image, 1), float(index)), boxes], dim=1))
    return torch.cat(rois)


@pytest.mark.parametrize('sampling_ratio', [0, 2, 3])
@pytest.mark.parametrize('aligned', [True, False])
def test_equals_mmcv_roi_align_forward_and_backward(sampling_ratio, aligned):
    features = torch.randn(3, 5, 12, 10, generator=torch.Generator().manual_seed(0))
    features.requires_grad_(True)
    rois = random_rois(images=3, per_image=17, image_size=44.0, seed=1)
    rois = rois[rois[:, 0] != 1]  # an image without RoIs
    kwargs = dict(spatial_scale=0.25, sampling_ratio=sampling_ratio, aligned=aligned)
    expected = RoIAlign((3, 4), **kwargs)(features, rois)
    (expected_grad,) = torch.autograd.grad((expected**2).sum(), features)
    pooled = GatherRoIAlign((3, 4), **kwargs)(features, rois)
    (grad,) = torch.autograd.grad((pooled**2).sum(), features)
    assert pooled.shape == expected.shape == (rois.shape[0], 5, 3, 4)
    torch.testing.assert_close(pooled, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(grad, expected_grad, atol=1e-4, rtol=1e-4)
    assert grad[1].abs().sum() == 0  # the image without RoIs gets no gradient
    assert expected.abs().sum() > 0 and grad.abs().sum() > 0


def test_passes_the_gradient_check_in_double_precision():
    features = torch.randn(2, 3, 6, 7, dtype=torch.float64, requires_grad=True)
    rois = random_rois(images=2, per_image=4, image_size=14.0, seed=2).double()

    def pool(maps):
        return gather_roi_align(maps, rois, 2, spatial_scale=0.5, sampling_ratio=2)

    assert torch.autograd.gradcheck(pool, (features,))


def test_no_rois_give_an_empty_batch():
    pooled = GatherRoIAlign(7, spatial_scale=0.25)(torch.zeros(2, 4, 8, 8), torch.zeros(0, 5))
    assert pooled.shape == (0, 4, 7, 7)


@pytest.mark.parametrize(
    'kwargs, message',
    [(dict(pool_mode='max'), "pool_mode must be 'avg'"), (dict(sampling_ratio=-1), '>= 0')],
)
def test_unsupported_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GatherRoIAlign(7, **kwargs)


def extractor(layer_type: str) -> RegisteredLayerRoIExtractor:
    return RegisteredLayerRoIExtractor(
        roi_layer=dict(type=layer_type, output_size=7, sampling_ratio=2),
        out_channels=4,
        featmap_strides=[4, 8],
    )


def test_the_extractor_builds_registered_and_mmcv_layers_per_level():
    gather = extractor('GatherRoIAlign')
    assert [type(layer) for layer in gather.roi_layers] == [GatherRoIAlign, GatherRoIAlign]
    assert [layer.spatial_scale for layer in gather.roi_layers] == [0.25, 0.125]
    mmcv = extractor('RoIAlign')
    assert [type(layer) for layer in mmcv.roi_layers] == [RoIAlign, RoIAlign]
    features = [torch.randn(2, 4, 16, 16), torch.randn(2, 4, 8, 8)]
    rois = random_rois(images=2, per_image=6, image_size=64.0, seed=3)
    torch.testing.assert_close(gather(features, rois), mmcv(features, rois), atol=1e-5, rtol=1e-5)


def test_the_extractor_names_an_unknown_layer():
    with pytest.raises(KeyError, match='NoSuchRoIAlign'):
        extractor('NoSuchRoIAlign')
