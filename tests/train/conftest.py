"""A tiny build folder (T=3, 48×48) written straight with SHARDS' writer, shared by the train tests."""

from pathlib import Path

import numpy as np
import pytest
import torch

from rvm_data.shards.manifest import Manifest, ShardEntry, write_manifest
from rvm_data.shards.writer import write_shard

SIZE, FRAMES = 48, 3


def _matte_sample(index: int, frames: int, size: int = SIZE) -> dict:
    """A soft disc moving over a two-colour foreground, on a noisy background."""
    rng = np.random.default_rng(index)
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    cy, cx, r = rng.uniform(14, 34, 2).tolist() + [rng.uniform(8, 14)]
    t = np.arange(frames, dtype=np.float32)[:, None, None]
    dist = np.sqrt((yy - cy - 2 * t) ** 2 + (xx - cx - t) ** 2)
    pha = np.clip((r - dist) / 3 + 0.5, 0, 1)[..., None]
    colour = rng.integers(0, 256, (2, 3))
    fgr = np.where((xx > cx)[None, ..., None], colour[0], colour[1]).repeat(frames, 0)
    bgr = rng.integers(0, 256, (frames, size, size, 3))
    return {"fgr": fgr.astype(np.uint8), "pha": (pha * 255).astype(np.uint8), "bgr": bgr.astype(np.uint8),
            "spec": {"index": index}}


def _seg_sample(index: int, frames: int) -> dict:
    m = _matte_sample(index, frames)
    img = (m["fgr"] * (m["pha"] / 255.0) + m["bgr"] * (1 - m["pha"] / 255.0)).astype(np.uint8)
    return {"img": img, "seg": np.where(m["pha"] > 127, 255, 0).astype(np.uint8), "spec": m["spec"]}


def _hr_sample(index: int, frames: int) -> dict:
    return _matte_sample(index, frames, 2 * SIZE)


def make_build(root: Path, *, segmentation: bool = False, hr: bool = False) -> Path:
    """Output ``main`` (train 8, valid 2), plus ``seg_image``/``seg_video`` or a 96 px ``hr`` output."""
    outputs = {"main": (_matte_sample, FRAMES)}
    if hr:
        outputs["hr"] = (_hr_sample, 2)
    if segmentation:
        outputs.update({"seg_image": (_seg_sample, 1), "seg_video": (_seg_sample, FRAMES)})
    counts = {"train": (4, 4), "valid": (2,)}
    splits: dict[str, list[ShardEntry]] = {}
    for split, shards in counts.items():
        for name, (make, frames) in outputs.items():
            if split == "valid" and name != "main":
                continue
            start = 0
            for j, n in enumerate(shards if name != "seg_image" else (12, 12)):
                rel = f"{split}/{name}-{j:06d}.tar"
                samples = [make(1000 * (split == "valid") + i, frames) for i in range(start, start + n)]
                info = write_shard(root / rel, samples)
                splits.setdefault(split, []).append(ShardEntry(rel, info.samples, info.bytes, info.sha256))
                start += n
    size = {name: 2 * SIZE if name == "hr" else SIZE for name in outputs}  # what the samples hold: the loader checks
    recipe = {"name": "tiny",
              "outputs": {k: {"compose": {"frames": f, "size": [size[k]] * 2}} for k, (_, f) in outputs.items()}}
    write_manifest(root, Manifest(recipe=recipe, recipe_hash="0" * 64, splits=splits))
    return root


@pytest.fixture(scope="session")
def tiny_build(tmp_path_factory) -> Path:
    return make_build(tmp_path_factory.mktemp("tiny_build"), segmentation=False)


@pytest.fixture(scope="session")
def tiny_hr_build(tmp_path_factory) -> Path:
    return make_build(tmp_path_factory.mktemp("tiny_hr_build"), hr=True)


@pytest.fixture(scope="session")
def tiny_seg_build(tmp_path_factory) -> Path:
    return make_build(tmp_path_factory.mktemp("tiny_seg_build"), segmentation=True)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread: on a shared 2-core machine two threads can make a step ten times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
