import torch

from rvm_data.train.batch import composite, crop_resize, draw_crop, random_crop, to_device
from rvm_data.train.optim import group_of, make_optimizer


def test_crop_size_is_drawn_in_half_to_full_range():
    gen = torch.Generator().manual_seed(0)
    sizes = [draw_crop(64, 48, gen) for _ in range(200)]
    assert all(32 <= h < 64 and 24 <= w < 48 for h, w in sizes)
    assert len(set(sizes)) > 20


def test_crop_shares_one_window_and_keeps_aspect():
    x = torch.arange(64.0).view(1, 1, 1, 1, 64).expand(2, 3, 1, 64, 64).contiguous()
    a, b = random_crop([x, x.clone()], torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.shape[:3] == (2, 3, 1)
    h, w = a.shape[-2:]
    assert 32 <= h < 64 and 32 <= w < 64
    # square input: resized to max(h, w) square, then centre crop (RVM)
    assert torch.allclose(a, crop_resize([x], (h, w))[0])
    tall = crop_resize([torch.rand(1, 1, 3, 40, 20)], (30, 18))[0]
    assert tall.shape == (1, 1, 3, 30, 18)


def test_to_device_scales_uint8_and_composite():
    batch = {"fgr": torch.full((1, 1, 3, 2, 2), 255, dtype=torch.uint8),
             "pha": torch.zeros(1, 1, 1, 2, 2, dtype=torch.uint8)}
    fgr, pha = to_device(batch, ("fgr", "pha"), torch.device("cpu"))
    assert fgr.dtype == torch.float32 and float(fgr.max()) == 1.0
    pha[..., 0, 0] = 1.0
    src = composite(fgr, pha, torch.zeros_like(fgr))
    assert float(src[..., 0, 0].min()) == 1.0 and float(src[..., 1, 1].max()) == 0.0


def test_param_groups_follow_state_dict_prefixes():
    assert group_of("backbone.features.0.0.weight") == "backbone"
    assert group_of("project_seg.conv.bias") == "project"
    model = torch.nn.ModuleDict({"backbone": torch.nn.Linear(2, 2), "refiner": torch.nn.Linear(2, 2),
                                 "project_mat": torch.nn.Linear(2, 2)})
    opt = make_optimizer(model, {"backbone": 1e-4, "aspp": 2e-4, "decoder": 2e-4, "project": 3e-4, "refiner": 0.0})
    assert [(g["name"], g["lr"]) for g in opt.param_groups] == [("backbone", 1e-4), ("project", 3e-4)]
    assert not model["refiner"].weight.requires_grad
