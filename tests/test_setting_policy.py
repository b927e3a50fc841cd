"""SettingPolicy: its settings, its input channels, its uniform start."""

import pytest
import torch

from mmlesion.models.regressors import SettingPolicy, normalise_settings, setting_label
from mmlesion.models.regressors.setting_policy import local_std

SETTINGS = [None, (1, 4), (2.0, 8.0)]


def small_policy(**kwargs) -> SettingPolicy:
    torch.manual_seed(0)
    return SettingPolicy(**{'settings': SETTINGS, 'base_channels': 4, **kwargs})


def test_untrained_policy_is_uniform_and_picks_the_first_setting():
    policy = small_policy().eval()
    images = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    logits = policy(images)
    assert logits.shape == (4, 3)
    assert torch.equal(logits, torch.zeros(4, 3))
    assert policy.choose(images).tolist() == [0, 0, 0, 0]
    policy.init_weights()
    assert torch.equal(policy.eval()(images), torch.zeros(4, 3))


def test_input_holds_the_chosen_channels_and_the_local_std_at_full_resolution():
    images = torch.rand(2, 3, 40, 40, generator=torch.Generator().manual_seed(1))
    x = small_policy().policy_input(images)
    assert x.shape == (2, 4, 40, 40)
    assert torch.equal(x[:, :3], images)
    torch.testing.assert_close(x[:, 3:], local_std(images[:, :1], 5))
    resized = small_policy(channels=[1], local_std_channel=None, input_size=16).policy_input(images)
    assert resized.shape == (2, 1, 16, 16)


def test_local_std_measures_the_noise_level_in_float32():
    generator = torch.Generator().manual_seed(2)
    for sigma in (0.01, 0.1):
        x = 0.7 + sigma * torch.randn(1, 1, 64, 64, generator=generator)
        level = local_std(x, 5)[..., 8:-8, 8:-8].mean().item()
        assert level == pytest.approx(sigma * (1 - 1 / 25) ** 0.5, rel=0.05)
    assert torch.all(local_std(torch.full((1, 1, 8, 8), 0.3), 3) < 1e-7)


def test_settings_are_normalised_and_checked():
    assert normalise_settings(SETTINGS) == [None, (1.0, 4.0), (2.0, 8.0)]
    assert [setting_label(s) for s in normalise_settings(SETTINGS)] == [
        'identity',
        'clip1_grid4',
        'clip2_grid8',
    ]
    with pytest.raises(ValueError, match='at least two'):
        normalise_settings([None])
    with pytest.raises(ValueError, match='twice'):
        normalise_settings([None, (1, 4), (1.0, 4.0)])
    with pytest.raises(ValueError, match=r'settings\[1\]'):
        normalise_settings([None, (0, 4)])


def test_bad_channels_and_inputs_are_refused():
    with pytest.raises(ValueError, match='channels'):
        small_policy(channels=[3])
    with pytest.raises(ValueError, match='local_std_channel'):
        small_policy(local_std_channel=5)
    with pytest.raises(ValueError, match='odd'):
        small_policy(local_std_window=4)
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\)'):
        small_policy()(torch.zeros(1, 1, 32, 32))


def test_a_training_step_at_the_demo_size_runs_and_inference_matches_training_layout():
    """The policy trains on 256-pixel slices (the demo's): a backward pass through its trunk
    must run there (on channels-last CPU tensors it crashed torch's backward), and the
    channels-last inference path gives the logits the training layout gives."""
    torch.manual_seed(0)
    policy = SettingPolicy(settings=[None, (2.0, 8.0), (4.0, 8.0)], in_channels=3, base_channels=8)
    policy.init_weights()
    torch.nn.init.normal_(policy.head[-1].weight, std=0.1)
    images = torch.rand(2, 3, 256, 256)
    policy.train()
    logits = policy(images)
    logits.sum().backward()
    grads = [p.grad for p in policy.trunk.parameters() if p.requires_grad]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
    policy.eval()
    with torch.no_grad():
        inference = policy(images)
    with torch.enable_grad():
        training_layout = policy(images).detach()
    torch.testing.assert_close(inference, training_layout, rtol=1e-4, atol=1e-5)
