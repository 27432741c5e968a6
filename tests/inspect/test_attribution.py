"""Saliency and Grad-CAM on models whose answer is known by construction."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cnnlab.errors import ConfigError
from cnnlab.inspect.attribution import cam_layer, grad_cam, saliency, where_looks


class LeftHalf(nn.Module):
    """Sees only the left half of the image: the right half is multiplied by 0 before any conv.

    The convs have no bias, so a unit whose field lies in the right half is exactly 0: Grad-CAM
    must be 0 there, and the input gradient too. Two 3×3 convs reach 2 pixels across the middle.
    """

    def __init__(self, in_channels: int = 1) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 8, 3, padding=1, bias=False),
            nn.ReLU(),
            nn.Conv2d(8, 8, 3, padding=1, bias=False),
            nn.ReLU(),
        )
        self.head = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = torch.zeros_like(x)
        mask[..., : x.shape[-1] // 2] = 1.0
        return self.head(self.features(x * mask).mean(dim=(2, 3)))  # global average pool


@pytest.mark.parametrize("channels,size", [(1, (28, 28)), (3, (20, 32))])
def test_left_half_net_looks_only_at_the_left_half(channels: int, size: tuple[int, int]) -> None:
    torch.manual_seed(0)
    model = LeftHalf(channels)
    x = torch.rand(channels, *size)
    looks = where_looks(model, x)
    half = size[1] // 2
    assert looks.layer == "features.3"  # the last spatial map
    assert looks.target == looks.predicted == int(model(x[None]).argmax())
    assert looks.saliency.shape == looks.cam.shape == size
    assert np.all(looks.saliency[:, half:] == 0)  # the mask: no gradient at all on the right
    # Grad-CAM: exactly 0 beyond the field's reach (2 pixels) plus 1 of bilinear upsampling
    assert np.all(looks.cam[:, half + 3 :] == 0)
    assert looks.cam.max() == pytest.approx(1.0) and looks.cam[:, :half].max() > 0.5
    assert looks.probs.sum() == pytest.approx(1.0)


def test_grad_cam_follows_the_target_class_and_the_layer() -> None:
    torch.manual_seed(0)
    model = LeftHalf()
    x = torch.rand(1, 12, 12)
    cams = [grad_cam(model, x, "features.1", target=t) for t in range(3)]
    assert all(c[3] == "features.1" and c[1].shape == (12, 12) for c in cams)
    assert not np.allclose(cams[0][2], cams[1][2])  # α depends on the class
    # the α of class t are the head's weights for t over h·w (global average pooling, no bias path)
    conv_cam = grad_cam(model, x, "features.3", target=1)
    np.testing.assert_allclose(conv_cam[2], model.head.weight[1].detach().numpy() / 144, rtol=1e-5)


def test_saliency_is_the_input_gradient() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    x = torch.rand(2, 4, 4)
    s, logits = saliency(model, x, target=2)
    w = model[1].weight[2].detach().reshape(2, 4, 4).abs().amax(0)
    np.testing.assert_allclose(s, w.numpy(), rtol=1e-6)
    assert logits.shape == (3,)


def test_errors() -> None:
    model = LeftHalf()
    x = torch.rand(1, 8, 8)
    with pytest.raises(
        ConfigError, match=r"Class 3 does not exist: the model has 3 outputs, numbered 0\.\.2"
    ):
        where_looks(model, x, target=3)
    with pytest.raises(ConfigError, match=r"No layer named features\.9"):
        where_looks(model, x, layer="features.9")
    with pytest.raises(
        ConfigError, match=r"Layer head gives an output of shape \(1, 3\), not a map"
    ):
        grad_cam(model, x, "head")
    with pytest.raises(ConfigError, match="has no layer with a spatial map larger than 1×1"):
        cam_layer(nn.Sequential(nn.Flatten(), nn.Linear(64, 2)), x[None])
    with pytest.raises(ConfigError, match=r"An input of shape \(1, 1, 8, 8\) is not an image"):
        where_looks(model, x[None])
