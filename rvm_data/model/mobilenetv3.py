"""MobileNetV3-Large feature encoder laid out like torchvision's, so its ImageNet weights load as they are.

The module tree mirrors ``torchvision.models.mobilenet_v3_large().features`` (``features.N.block.M...``,
conv/BN/activation Sequentials, squeeze-excitation with ``fc1``/``fc2``) without importing torchvision.
As in RVM the last stage is dilated instead of strided, so the deepest features stay at 1/16 scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from rvm_data.model.errors import ModelError, ModelFileMissing

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
BN_EPS = 0.001
BN_MOMENTUM = 0.01


@dataclass(frozen=True)
class BlockConfig:
    """One inverted-residual block of the MobileNetV3 table."""

    in_channels: int
    kernel: int
    expanded: int
    out_channels: int
    use_se: bool
    hardswish: bool
    stride: int
    dilation: int


# MobileNetV3-Large (Howard et al. 2019, table 1) with the C4 stage dilated by 2 instead of strided.
LARGE_BLOCKS: tuple[BlockConfig, ...] = (
    BlockConfig(16, 3, 16, 16, False, False, 1, 1),
    BlockConfig(16, 3, 64, 24, False, False, 2, 1),
    BlockConfig(24, 3, 72, 24, False, False, 1, 1),
    BlockConfig(24, 5, 72, 40, True, False, 2, 1),
    BlockConfig(40, 5, 120, 40, True, False, 1, 1),
    BlockConfig(40, 5, 120, 40, True, False, 1, 1),
    BlockConfig(40, 3, 240, 80, False, True, 2, 1),
    BlockConfig(80, 3, 200, 80, False, True, 1, 1),
    BlockConfig(80, 3, 184, 80, False, True, 1, 1),
    BlockConfig(80, 3, 184, 80, False, True, 1, 1),
    BlockConfig(80, 3, 480, 112, True, True, 1, 1),
    BlockConfig(112, 3, 672, 112, True, True, 1, 1),
    BlockConfig(112, 5, 672, 160, True, True, 2, 2),
    BlockConfig(160, 5, 960, 160, True, True, 1, 2),
    BlockConfig(160, 5, 960, 160, True, True, 1, 2),
)
LAST_CHANNELS = 960
# Indices into ``features`` whose outputs are the 1/2, 1/4, 1/8 and 1/16 scale features.
FEATURE_TAPS = (1, 3, 6, 16)
FEATURE_CHANNELS = (16, 24, 40, LAST_CHANNELS)


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of ``divisor`` without losing more than 10 % (MobileNet rule)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class ConvBNAct(nn.Sequential):
    """Conv (no bias) -> BatchNorm -> optional activation, keyed ``0``, ``1``, ``2`` like torchvision's."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int,
        *,
        stride: int = 1,
        dilation: int = 1,
        groups: int = 1,
        activation: type[nn.Module] | None = None,
    ) -> None:
        padding = (kernel - 1) // 2 * dilation
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, out_channels, kernel, stride, padding, dilation=dilation, groups=groups, bias=False),
            nn.BatchNorm2d(out_channels, eps=BN_EPS, momentum=BN_MOMENTUM),
        ]
        if activation is not None:
            layers.append(activation(inplace=True))
        super().__init__(*layers)


class SqueezeExcitation(nn.Module):
    """Channel attention: global pool -> fc1 -> ReLU -> fc2 -> hard sigmoid, scaling the input."""

    def __init__(self, channels: int, squeeze_channels: int) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.activation = nn.ReLU(inplace=True)
        self.scale_activation = nn.Hardsigmoid(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        scale: Tensor = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return scale * x


class InvertedResidual(nn.Module):
    """Expand (1x1) -> depthwise -> optional SE -> project (1x1), with a skip when shapes allow."""

    def __init__(self, cfg: BlockConfig) -> None:
        super().__init__()
        activation = nn.Hardswish if cfg.hardswish else nn.ReLU
        stride = 1 if cfg.dilation > 1 else cfg.stride
        layers: list[nn.Module] = []
        if cfg.expanded != cfg.in_channels:
            layers.append(ConvBNAct(cfg.in_channels, cfg.expanded, 1, activation=activation))
        layers.append(
            ConvBNAct(
                cfg.expanded, cfg.expanded, cfg.kernel,
                stride=stride, dilation=cfg.dilation, groups=cfg.expanded, activation=activation,
            )
        )
        if cfg.use_se:
            layers.append(SqueezeExcitation(cfg.expanded, make_divisible(cfg.expanded // 4)))
        layers.append(ConvBNAct(cfg.expanded, cfg.out_channels, 1))
        self.block = nn.Sequential(*layers)
        self.use_residual = stride == 1 and cfg.in_channels == cfg.out_channels

    def forward(self, x: Tensor) -> Tensor:
        y: Tensor = self.block(x)
        return y + x if self.use_residual else y


class MobileNetV3LargeEncoder(nn.Module):
    """N×3×H×W images in [0, 1] -> features at 1/2 (16 ch), 1/4 (24), 1/8 (40) and 1/16 (960) scale."""

    mean: Tensor  # ImageNet normalisation buffers, registered in __init__ (not in the state dict)
    std: Tensor

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = [ConvBNAct(3, 16, 3, stride=2, activation=nn.Hardswish)]
        layers += [InvertedResidual(cfg) for cfg in LARGE_BLOCKS]
        layers.append(ConvBNAct(LARGE_BLOCKS[-1].out_channels, LAST_CHANNELS, 1, activation=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self._init_weights()

    def _init_weights(self) -> None:
        """torchvision's initialisation, so training from scratch starts where torchvision's would."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> list[Tensor]:
        x = (x - self.mean) / self.std
        features = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in FEATURE_TAPS:
                features.append(x)
        return features


def read_weights_file(path: Path, what: str) -> object:
    """``torch.load(weights_only=True)`` on the CPU; a missing or unreadable file is an error naming it."""
    if not path.is_file():
        raise ModelFileMissing(f"{path}: no such {what} file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types (UnpicklingError, RuntimeError, ...) for a bad file
        raise ModelError(f"{path}: cannot read {what} file: damaged, or not a torch.save file of tensors "
                         f"({type(error).__name__})") from error


def load_torchvision_weights(encoder: MobileNetV3LargeEncoder, path: str | Path) -> None:
    """Load a torchvision MobileNetV3-Large ImageNet state-dict file (e.g. ``mobilenet_v3_large-8738ca79.pth``).

    The classifier head is dropped; every ``features.*`` tensor must be present with the right shape.
    """
    path = Path(path)
    state = read_weights_file(path, "backbone weights")
    if not isinstance(state, dict):
        raise ModelError(f"{path}: expected a state dict (dict of tensors), got {type(state).__name__}")
    state = {k: v for k, v in state.items() if not k.startswith("classifier.")}
    try:
        encoder.load_state_dict(state, strict=True)
    except RuntimeError as error:
        detail = " ".join(str(error).split())
        raise ModelError(f"{path}: not a torchvision MobileNetV3-Large state dict: {detail}") from None
