"""The backbone takes torchvision's MobileNetV3-Large ImageNet state dict as it is."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rvm_data.model import MattingNetwork, MobileNetV3LargeEncoder, load_torchvision_weights


def fake_torchvision_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """A torchvision-layout file: our backbone keys plus the classifier head torchvision ships."""
    generator = torch.Generator().manual_seed(seed)
    state = {
        k: torch.rand(v.shape, generator=generator) if v.is_floating_point() else v.clone()
        for k, v in MobileNetV3LargeEncoder().state_dict().items()
    }
    state["classifier.0.weight"] = torch.rand(1280, 960, generator=generator)
    state["classifier.0.bias"] = torch.rand(1280, generator=generator)
    state["classifier.3.weight"] = torch.rand(1000, 1280, generator=generator)
    state["classifier.3.bias"] = torch.rand(1000, generator=generator)
    return state


def test_torchvision_layout_state_dict_loads(tmp_path: Path) -> None:
    state = fake_torchvision_state()
    path = tmp_path / "mobilenet_v3_large.pth"
    torch.save(state, path)
    model = MattingNetwork(pretrained_backbone=path)
    loaded = model.backbone.state_dict()
    assert all(torch.equal(loaded[k], state[k]) for k in loaded)
    assert "features.13.block.1.0.weight" in loaded and "features.4.block.2.fc1.weight" in loaded


def test_features_at_half_quarter_eighth_sixteenth() -> None:
    with torch.no_grad():
        features = MobileNetV3LargeEncoder().eval()(torch.rand(1, 3, 64, 96))
    assert [tuple(f.shape[1:]) for f in features] == [(16, 32, 48), (24, 16, 24), (40, 8, 12), (960, 4, 6)]


def test_wrong_file_is_named(tmp_path: Path) -> None:
    state = fake_torchvision_state()
    state["features.16.0.weight"] = torch.zeros(10, 160, 1, 1)
    path = tmp_path / "resnet.pth"
    torch.save(state, path)
    with pytest.raises(ValueError, match="resnet.pth.*features.16.0.weight"):
        load_torchvision_weights(MobileNetV3LargeEncoder(), path)
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        load_torchvision_weights(MobileNetV3LargeEncoder(), tmp_path / "missing.pth")
    (tmp_path / "damaged.pth").write_bytes(b"not weights")
    with pytest.raises(ValueError, match="damaged.pth: cannot read backbone weights file"):
        load_torchvision_weights(MobileNetV3LargeEncoder(), tmp_path / "damaged.pth")
