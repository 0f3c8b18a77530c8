"""MattingNetwork: RVM's MobileNetV3 matting model, state-dict compatible with ``rvm_mobilenetv3.pth``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rvm_data.model.decoder import Projection, RecurrentDecoder
from rvm_data.model.deep_guided_filter import DeepGuidedFilterRefiner
from rvm_data.model.errors import ModelError
from rvm_data.model.lraspp import LRASPP
from rvm_data.model.mobilenetv3 import (
    FEATURE_CHANNELS,
    MobileNetV3LargeEncoder,
    load_torchvision_weights,
    read_weights_file,
)

SPEC_PATH = Path(__file__).with_name("matting_network_state_dict.tsv")
ASPP_CHANNELS = 128
DECODER_CHANNELS = (80, 40, 32, 16)


class MattingNetwork(nn.Module):
    """Robust Video Matting (Lin et al. 2022), MobileNetV3-Large variant with the Deep Guided Filter.

    ``forward(src, r1, r2, r3, r4, downsample_ratio, segmentation_pass)`` takes B×T×3×H×W or
    B×3×H×W images in [0, 1] (any H, W) and the recurrent states of the previous call (None at
    the start of a clip). It returns ``[fgr, pha, r1, r2, r3, r4]``: foreground and alpha at the
    input size, clamped to [0, 1], and the new states; or ``[seg, r1, r2, r3, r4]`` (segmentation
    logits) when ``segmentation_pass`` is set. With ``downsample_ratio < 1`` the network runs on a
    bilinearly shrunk copy and the Deep Guided Filter brings the result back to full resolution.
    """

    def __init__(
        self,
        variant: str = "mobilenetv3",
        refiner: str = "deep_guided_filter",
        pretrained_backbone: str | Path | None = None,
    ) -> None:
        super().__init__()
        if variant != "mobilenetv3":
            raise ModelError(f"variant {variant!r} is not available; only 'mobilenetv3' is implemented")
        if refiner != "deep_guided_filter":
            raise ModelError(f"refiner {refiner!r} is not available; only 'deep_guided_filter' is implemented")
        if isinstance(pretrained_backbone, bool) and pretrained_backbone:  # RVM's own API takes True here
            raise ModelError(
                "pretrained_backbone takes the path of a torchvision MobileNetV3-Large weights file; "
                "nothing is downloaded"
            )
        self.backbone = MobileNetV3LargeEncoder()
        self.aspp = LRASPP(FEATURE_CHANNELS[3], ASPP_CHANNELS)
        self.decoder = RecurrentDecoder((*FEATURE_CHANNELS[:3], ASPP_CHANNELS), DECODER_CHANNELS)
        self.project_mat = Projection(DECODER_CHANNELS[3], 4)
        self.project_seg = Projection(DECODER_CHANNELS[3], 1)
        self.refiner = DeepGuidedFilterRefiner(DECODER_CHANNELS[3])
        if pretrained_backbone:
            load_torchvision_weights(self.backbone, pretrained_backbone)

    def forward(
        self,
        src: Tensor,
        r1: Tensor | None = None,
        r2: Tensor | None = None,
        r3: Tensor | None = None,
        r4: Tensor | None = None,
        downsample_ratio: float = 1.0,
        segmentation_pass: bool = False,
    ) -> list[Tensor]:
        if src.ndim not in (4, 5) or src.shape[-3] != 3:
            raise ModelError(f"src must be B×3×H×W or B×T×3×H×W, got shape {tuple(src.shape)}")
        if not 0 < downsample_ratio <= 1:
            raise ModelError(f"downsample_ratio must be in (0, 1], got {downsample_ratio}")
        single_frame = src.ndim == 4
        src = src.unsqueeze(1) if single_frame else src
        batch_time = src.shape[:2]
        src_sm = self._shrink(src, downsample_ratio) if downsample_ratio != 1 else src

        f1, f2, f3, f4 = (torch.unflatten(f, 0, batch_time) for f in self.backbone(src_sm.flatten(0, 1)))
        f4 = torch.unflatten(self.aspp(f4.flatten(0, 1)), 0, batch_time)
        hid, *rec = self.decoder(src_sm, f1, f2, f3, f4, r1, r2, r3, r4)

        if segmentation_pass:
            seg = self.project_seg(hid)
            if downsample_ratio != 1:
                seg = F.interpolate(seg.flatten(0, 1), src.shape[-2:], mode="bilinear", align_corners=False)
                seg = torch.unflatten(seg, 0, batch_time)
            outputs = [seg]
        else:
            fgr_residual, pha = torch.split(self.project_mat(hid), [3, 1], dim=2)
            if downsample_ratio != 1:
                fgr_residual, pha = self.refiner(
                    src.flatten(0, 1), src_sm.flatten(0, 1),
                    fgr_residual.flatten(0, 1), pha.flatten(0, 1), hid.flatten(0, 1),
                )
                fgr_residual, pha = torch.unflatten(fgr_residual, 0, batch_time), torch.unflatten(pha, 0, batch_time)
            outputs = [(fgr_residual + src).clamp(0.0, 1.0), pha.clamp(0.0, 1.0)]
        if single_frame:
            outputs = [o.squeeze(1) for o in outputs]
        return [*outputs, *rec]

    @staticmethod
    def _shrink(src: Tensor, ratio: float) -> Tensor:
        """Bilinear resize by ``ratio`` exactly as RVM does (scale factor kept, not recomputed)."""
        height, width = src.shape[-2:]
        if int(height * ratio) < 1 or int(width * ratio) < 1:
            raise ModelError(f"downsample_ratio {ratio} shrinks a {height}x{width} input to nothing")
        small = F.interpolate(
            src.flatten(0, 1), scale_factor=ratio, mode="bilinear", align_corners=False, recompute_scale_factor=False
        )
        return torch.unflatten(small, 0, src.shape[:2])


def read_state_dict(path: str | Path) -> dict[str, Tensor]:
    """Read a checkpoint file: a plain state dict (original RVM) or a dict holding one under "model"/"state_dict"."""
    path = Path(path)
    state = read_weights_file(path, "checkpoint")
    if isinstance(state, dict):
        for key in ("model", "state_dict"):
            if isinstance(state.get(key), dict):
                state = state[key]
                break
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise ModelError(f"{path}: not a MattingNetwork state dict (expected a dict of tensors)")
    return state


def load_checkpoint(model: MattingNetwork, path: str | Path) -> MattingNetwork:
    """Load an original ``rvm_mobilenetv3.pth`` (or a checkpoint saved from this class) with strict=True."""
    state = read_state_dict(path)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ModelError(f"{path}: does not match MattingNetwork: {' '.join(str(error).split())}") from None
    return model


@dataclass(frozen=True)
class StateEntry:
    """One row of the reference state-dict table: key, shape (() for scalars) and dtype name."""

    key: str
    shape: tuple[int, ...]
    dtype: str


def state_dict_spec(path: str | Path = SPEC_PATH) -> list[StateEntry]:
    """The original RVM MobileNetV3 checkpoint's keys, shapes and dtypes, from the bundled TSV."""
    lines = Path(path).read_text().splitlines()
    entries = []
    for line in lines[1:]:
        key, shape, dtype = line.split("\t")
        dims = () if shape == "scalar" else tuple(int(d) for d in shape.split("x"))
        entries.append(StateEntry(key, dims, dtype))
    return entries
