"""MattingNetwork: checkpoint layout, output shapes, recurrence and round trips."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rvm_data.model import MattingNetwork, load_checkpoint, read_state_dict, state_dict_spec

# a copy of the team's checkpoint spec, kept with the tests so that an edit of the bundled one shows
SHARED_SPEC = Path(__file__).with_name("matting_network_state_dict.tsv")
EXPECTED_PARAMETERS = 3_748_633


def randomise(model: MattingNetwork, seed: int = 0) -> MattingNetwork:
    """Set every float tensor (weights and BN statistics) from ``seed`` alone, at sensible scales."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if not tensor.is_floating_point():
                continue
            uniform = torch.rand(tensor.shape, generator=generator) * 2 - 1
            if tensor.ndim == 4:  # conv weight: keep activations at a steady scale
                tensor.copy_(uniform * (3 / tensor[0].numel()) ** 0.5)
            elif name.endswith("running_var"):
                tensor.copy_(1 + 0.5 * uniform)
            elif name.endswith("weight"):  # BN scale
                tensor.copy_(1 + 0.2 * uniform)
            else:  # biases, BN shifts and running means
                tensor.copy_(0.1 * uniform)
    return model.eval()


@pytest.fixture(scope="module")
def model() -> MattingNetwork:
    return randomise(MattingNetwork())


def clip(batch: int, frames: int, height: int, width: int, seed: int = 1) -> torch.Tensor:
    return torch.rand(batch, frames, 3, height, width, generator=torch.Generator().manual_seed(seed))


def test_state_dict_matches_spec_table_exactly(model: MattingNetwork) -> None:
    table = [(k, tuple(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in model.state_dict().items()]
    spec = [(e.key, e.shape, e.dtype) for e in state_dict_spec()]
    assert len(spec) == 380
    assert table == spec


def test_bundled_spec_is_the_shared_spec() -> None:
    assert state_dict_spec() == state_dict_spec(SHARED_SPEC)


def test_parameter_count(model: MattingNetwork) -> None:
    assert sum(p.numel() for p in model.parameters()) == EXPECTED_PARAMETERS


@pytest.mark.parametrize("frames", [1, 3])
@pytest.mark.parametrize("ratio", [1.0, 0.25])
def test_output_and_state_shapes(model: MattingNetwork, frames: int, ratio: float) -> None:
    src = clip(2, frames, 64, 64)
    with torch.no_grad():
        fgr, pha, r1, r2, r3, r4 = model(src, downsample_ratio=ratio)
    assert fgr.shape == (2, frames, 3, 64, 64)
    assert pha.shape == (2, frames, 1, 64, 64)
    base = int(64 * ratio)
    assert r1.shape == (2, 16, base // 2, base // 2)
    assert r2.shape == (2, 20, base // 4, base // 4)
    assert r3.shape == (2, 40, base // 8, base // 8)
    assert r4.shape == (2, 64, base // 16, base // 16)
    assert 0 <= fgr.min() and fgr.max() <= 1 and 0 <= pha.min() and pha.max() <= 1


def test_single_frame_input_equals_sequence_of_one(model: MattingNetwork) -> None:
    src = clip(1, 1, 48, 40)
    with torch.no_grad():
        four_d = model(src[:, 0])
        five_d = model(src)
    assert four_d[0].shape == (1, 3, 48, 40) and four_d[1].shape == (1, 1, 48, 40)
    torch.testing.assert_close(four_d[0], five_d[0][:, 0])
    torch.testing.assert_close(four_d[1], five_d[1][:, 0])
    for a, b in zip(four_d[2:], five_d[2:], strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("ratio", [1.0, 0.5])
def test_odd_sizes_give_outputs_at_input_size(model: MattingNetwork, ratio: float) -> None:
    src = clip(1, 2, 37, 53)
    with torch.no_grad():
        fgr, pha, r1, *_ = model(src, downsample_ratio=ratio)
        seg, *_ = model(src, downsample_ratio=ratio, segmentation_pass=True)
    assert fgr.shape == (1, 2, 3, 37, 53) and pha.shape == (1, 2, 1, 37, 53)
    assert seg.shape == (1, 2, 1, 37, 53)
    assert r1.shape[-2:] == ((int(37 * ratio) + 1) // 2, (int(53 * ratio) + 1) // 2)


def test_segmentation_pass_returns_logits_and_states(model: MattingNetwork) -> None:
    with torch.no_grad():
        out = model(clip(1, 2, 32, 32), segmentation_pass=True)
    assert len(out) == 5 and out[0].shape == (1, 2, 1, 32, 32)
    assert out[0].min() < 0 or out[0].max() > 1  # logits, not clamped


@pytest.mark.parametrize("ratio", [1.0, 0.25])
def test_frame_by_frame_with_carried_state_equals_one_pass(model: MattingNetwork, ratio: float) -> None:
    src = clip(1, 3, 64, 64, seed=2)
    with torch.no_grad():
        fgr_seq, pha_seq, *rec_seq = model(src, downsample_ratio=ratio)
        rec: list[torch.Tensor | None] = [None] * 4
        fgrs, phas = [], []
        for t in range(src.shape[1]):
            fgr, pha, *rec = model(src[:, t], *rec, downsample_ratio=ratio)
            fgrs.append(fgr)
            phas.append(pha)
    torch.testing.assert_close(torch.stack(fgrs, 1), fgr_seq, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(torch.stack(phas, 1), pha_seq, atol=1e-5, rtol=1e-5)
    for a, b in zip(rec, rec_seq, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_state_changes_the_output(model: MattingNetwork) -> None:
    src = clip(1, 2, 32, 32, seed=3)
    with torch.no_grad():
        first = model(src[:, 0])
        fresh = model(src[:, 1])
        carried = model(src[:, 1], *first[2:])
    assert not torch.allclose(fresh[1], carried[1])


def test_save_load_round_trip(model: MattingNetwork, tmp_path: Path) -> None:
    path = tmp_path / "rvm.pth"
    torch.save(model.state_dict(), path)
    loaded = load_checkpoint(MattingNetwork(), path).eval()
    state = torch.load(path, weights_only=True)
    fresh = MattingNetwork()
    fresh.load_state_dict(state, strict=True)
    src = clip(1, 2, 32, 32, seed=4)
    with torch.no_grad():
        expected = model(src, downsample_ratio=0.5)
        for other in (loaded, fresh.eval()):
            for a, b in zip(other(src, downsample_ratio=0.5), expected, strict=True):
                torch.testing.assert_close(a, b, atol=0, rtol=0)


def test_checkpoint_wrapped_under_model_key_loads(model: MattingNetwork, tmp_path: Path) -> None:
    path = tmp_path / "train.pt"
    torch.save({"model": model.state_dict(), "step": torch.tensor(3)}, path)
    assert read_state_dict(path).keys() == model.state_dict().keys()


def test_mismatched_checkpoint_names_the_file(model: MattingNetwork, tmp_path: Path) -> None:
    state = model.state_dict()
    state.pop("project_seg.conv.bias")
    path = tmp_path / "broken.pth"
    torch.save(state, path)
    with pytest.raises(ValueError, match="broken.pth.*project_seg.conv.bias"):
        load_checkpoint(MattingNetwork(), path)
    damaged = tmp_path / "damaged.pth"
    damaged.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="damaged.pth: cannot read checkpoint file"):
        load_checkpoint(MattingNetwork(), damaged)


@pytest.mark.parametrize(
    ("shape", "kwargs", "message"),
    [
        ((1, 4, 32, 32), {}, "B×3×H×W"),
        ((1, 3, 32, 32), {"downsample_ratio": 0.0}, "downsample_ratio"),
        ((1, 3, 8, 8), {"downsample_ratio": 0.05}, "shrinks"),
    ],
)
def test_bad_input_is_rejected(model: MattingNetwork, shape: tuple[int, ...], kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        model(torch.zeros(shape), **kwargs)


def test_unknown_variant_or_download_request_is_rejected() -> None:
    with pytest.raises(ValueError, match="resnet50"):
        MattingNetwork(variant="resnet50")
    with pytest.raises(ValueError, match="nothing is downloaded"):
        MattingNetwork(pretrained_backbone=True)
