"""Adam with one parameter group per part of MattingNetwork, named by state-dict prefix."""

from __future__ import annotations

from torch import nn
from torch.optim import Adam

from rvm_data.train.config import GROUPS

PREFIXES = {
    "backbone.": "backbone",
    "aspp.": "aspp",
    "decoder.": "decoder",
    "project_mat.": "project",
    "project_seg.": "project",
    "refiner.": "refiner",
}


def group_of(name: str) -> str:
    """The learning-rate group of a parameter name (as in spec/matting_network_state_dict.tsv)."""
    for prefix, group in PREFIXES.items():
        if name.startswith(prefix):
            return group
    raise ValueError(f"parameter {name!r} belongs to no learning-rate group ({', '.join(PREFIXES)})")


def make_optimizer(model: nn.Module, lrs: dict[str, float]) -> Adam:
    """Adam over the groups with a rate > 0; parameters of groups at rate 0 are frozen.

    Freezing (instead of Adam at lr 0) skips their gradients, which is what RVM's lr 0
    for the refiner in stages 1 and 2 amounts to.
    """
    params: dict[str, list[nn.Parameter]] = {g: [] for g in GROUPS}
    for name, p in model.named_parameters():
        params[group_of(name)].append(p)
    groups = []
    for g in GROUPS:
        frozen = lrs[g] <= 0
        for p in params[g]:
            p.requires_grad_(not frozen)
        if not frozen and params[g]:
            groups.append({"params": params[g], "lr": lrs[g], "name": g})
    if not groups:
        raise ValueError("every learning rate is 0: nothing to train")
    return Adam(groups)
