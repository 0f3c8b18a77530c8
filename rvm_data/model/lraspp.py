"""Lite R-ASPP head (Howard et al. 2019): a 1x1 conv branch gated by a global-context branch."""

from __future__ import annotations

from torch import Tensor, nn


class LRASPP(nn.Module):
    """N×C_in×h×w -> N×C_out×h×w; cheap context aggregation on the 1/16 features."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.aspp1 = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )
        self.aspp2 = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x: Tensor) -> Tensor:
        gated: Tensor = self.aspp1(x) * self.aspp2(x)
        return gated
