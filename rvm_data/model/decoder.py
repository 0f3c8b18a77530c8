"""RVM's recurrent decoder: ConvGRU over half the channels at 1/16, 1/8, 1/4 and 1/2 scale.

Every module here takes B×T×C×H×W sequences: convolutions run on all frames at once (B and T
flattened), only the ConvGRU steps through time. Recurrent states are B×C×H×W.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def per_frame(module: nn.Module, x: Tensor) -> Tensor:
    """Apply a 4-D module to every frame of a B×T×C×H×W tensor."""
    return torch.unflatten(module(x.flatten(0, 1)), 0, x.shape[:2])


class ConvGRU(nn.Module):
    """Convolutional GRU: reset/update gates from ``ih``, candidate state from ``hh``."""

    def __init__(self, channels: int, kernel: int = 3) -> None:
        super().__init__()
        self.channels = channels
        self.ih = nn.Sequential(nn.Conv2d(channels * 2, channels * 2, kernel, padding=kernel // 2), nn.Sigmoid())
        self.hh = nn.Sequential(nn.Conv2d(channels * 2, channels, kernel, padding=kernel // 2), nn.Tanh())

    def step(self, x: Tensor, h: Tensor) -> Tensor:
        r, z = torch.split(self.ih(torch.cat([x, h], dim=1)), self.channels, dim=1)
        c: Tensor = self.hh(torch.cat([x, r * h], dim=1))
        return (1 - z) * h + z * c

    def forward(self, x: Tensor, h: Tensor | None) -> tuple[Tensor, Tensor]:
        """x: B×T×C×H×W, h: B×C×H×W or None (zeros) -> (outputs B×T×C×H×W, last state)."""
        frame_shape = x.shape[:1] + x.shape[2:]
        h = x.new_zeros(frame_shape) if h is None else h.expand(frame_shape)
        outputs = []
        for xt in x.unbind(dim=1):
            h = self.step(xt, h)
            outputs.append(h)
        return torch.stack(outputs, dim=1), h


def gru_on_half(gru: ConvGRU, x: Tensor, r: Tensor | None) -> tuple[Tensor, Tensor]:
    """Run the ConvGRU on the second half of the channels; the first half passes through."""
    a, b = torch.split(x, gru.channels, dim=2)
    b, r = gru(b, r)
    return torch.cat([a, b], dim=2), r


def upsample_to(x: Tensor, like: Tensor) -> Tensor:
    """Upsample N×C×h×w by 2 and crop to ``like``'s size (odd sizes round up on the way down)."""
    x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
    return x[:, :, : like.shape[-2], : like.shape[-1]]


class BottleneckBlock(nn.Module):
    """1/16 scale: ConvGRU on half of the LR-ASPP channels."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.gru = ConvGRU(channels // 2)

    def forward(self, x: Tensor, r: Tensor | None) -> tuple[Tensor, Tensor]:
        return gru_on_half(self.gru, x, r)


class UpsamplingBlock(nn.Module):
    """Upsample, concatenate the encoder skip and the downsampled image, 3x3 conv, ConvGRU on half."""

    def __init__(self, in_channels: int, skip_channels: int, src_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels + skip_channels + src_channels, out_channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )
        self.gru = ConvGRU(out_channels // 2)

    def forward(self, x: Tensor, f: Tensor, s: Tensor, r: Tensor | None) -> tuple[Tensor, Tensor]:
        s_flat = s.flatten(0, 1)
        x = upsample_to(x.flatten(0, 1), s_flat)
        x = torch.unflatten(self.conv(torch.cat([x, f.flatten(0, 1), s_flat], dim=1)), 0, s.shape[:2])
        return gru_on_half(self.gru, x, r)


class OutputBlock(nn.Module):
    """Full scale: upsample, concatenate the image, two 3x3 conv/BN/ReLU layers (no recurrence)."""

    def __init__(self, in_channels: int, src_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels + src_channels, out_channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: Tensor, s: Tensor) -> Tensor:
        s_flat = s.flatten(0, 1)
        x = upsample_to(x.flatten(0, 1), s_flat)
        return torch.unflatten(self.conv(torch.cat([x, s_flat], dim=1)), 0, s.shape[:2])


class Projection(nn.Module):
    """1x1 convolution to the output channels, per frame."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        return per_frame(self.conv, x)


class RecurrentDecoder(nn.Module):
    """Encoder features (1/2, 1/4, 1/8, 1/16) + image -> full-scale hidden features and 4 states."""

    def __init__(
        self, feature_channels: tuple[int, int, int, int], decoder_channels: tuple[int, int, int, int]
    ) -> None:
        super().__init__()
        self.avgpool = nn.AvgPool2d(2, 2, count_include_pad=False, ceil_mode=True)
        self.decode4 = BottleneckBlock(feature_channels[3])
        self.decode3 = UpsamplingBlock(feature_channels[3], feature_channels[2], 3, decoder_channels[0])
        self.decode2 = UpsamplingBlock(decoder_channels[0], feature_channels[1], 3, decoder_channels[1])
        self.decode1 = UpsamplingBlock(decoder_channels[1], feature_channels[0], 3, decoder_channels[2])
        self.decode0 = OutputBlock(decoder_channels[2], 3, decoder_channels[3])

    def forward(
        self,
        s0: Tensor,
        f1: Tensor,
        f2: Tensor,
        f3: Tensor,
        f4: Tensor,
        r1: Tensor | None,
        r2: Tensor | None,
        r3: Tensor | None,
        r4: Tensor | None,
    ) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        s1 = per_frame(self.avgpool, s0)
        s2 = per_frame(self.avgpool, s1)
        s3 = per_frame(self.avgpool, s2)
        x4, r4 = self.decode4(f4, r4)
        x3, r3 = self.decode3(x4, f3, s3, r3)
        x2, r2 = self.decode2(x3, f2, s2, r2)
        x1, r1 = self.decode1(x2, f1, s1, r1)
        x0 = self.decode0(x1, s0)
        return x0, r1, r2, r3, r4
