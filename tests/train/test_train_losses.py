import pytest
import torch

from rvm_data.train.losses import coherence_loss, laplacian_loss, laplacian_pyramid, matting_loss, segmentation_loss


def _clip(seed: int, shape=(2, 3, 1, 64, 48)) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))


def test_perfect_prediction_has_zero_loss():
    fgr, pha = _clip(0, (2, 3, 3, 64, 48)), _clip(1)
    loss = matting_loss(fgr, pha, fgr, pha)
    assert set(loss) == {"pha_l1", "pha_laplacian", "pha_coherence", "fgr_l1", "fgr_coherence", "total"}
    assert all(float(v) == 0.0 for v in loss.values())


def test_pyramid_reconstructs_and_stops_when_small():
    img = _clip(2, (1, 1, 64, 64))
    bands = laplacian_pyramid(img, 5)
    assert [b.shape[-1] for b in bands] == [64, 32, 16, 8, 4]
    assert len(laplacian_pyramid(img[..., :10, :10], 5)) == 2  # 10 -> 5 -> too small to blur
    flat = torch.full((1, 1, 32, 32), 0.5)
    assert all(b.abs().max() < 1e-6 for b in laplacian_pyramid(flat))  # a flat image has no detail


def test_laplacian_weights_coarse_levels_more():
    pred, true = torch.zeros(1, 1, 64, 64), torch.zeros(1, 1, 64, 64)
    true[..., 16:48, 16:48] = 1.0
    assert float(laplacian_loss(pred, true)) > 0


def test_coherence_sees_only_temporal_change():
    true = _clip(3, (2, 1, 1, 64, 48)).repeat(1, 3, 1, 1, 1)  # static clip
    shifted = true + 0.2  # constant error: no temporal difference
    assert float(coherence_loss(shifted, true)) == pytest.approx(0.0, abs=1e-9)
    flicker = true.clone()
    flicker[:, 1] += 0.2
    assert float(coherence_loss(flicker, true)) == pytest.approx(5 * 0.04, rel=1e-4)
    assert float(coherence_loss(true[:, :1], true[:, :1])) == 0.0


def test_foreground_loss_ignores_pixels_without_alpha():
    fgr, pha = _clip(4, (1, 2, 3, 32, 32)), torch.zeros(1, 2, 1, 32, 32)
    pha[..., :16, :] = 1.0
    wrong = fgr.clone()
    wrong[..., 16:, :] = 1 - wrong[..., 16:, :]
    assert float(matting_loss(wrong, pha, fgr, pha)["fgr_l1"]) == 0.0


def test_segmentation_bce_with_logits():
    seg = (torch.rand(2, 1, 1, 8, 8, generator=torch.Generator().manual_seed(5)) > 0.5).float()
    good, bad = segmentation_loss((seg * 2 - 1) * 10, seg), segmentation_loss((1 - seg * 2) * 10, seg)
    assert float(good) < 1e-3 < 1 < float(bad)
