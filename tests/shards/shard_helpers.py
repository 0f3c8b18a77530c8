"""Tiny synthetic samples and build folders for the shard tests (a uniquely named module: ``conftest``
clashes with other test folders' when pytest is given several of them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rvm_data.shards import CodecConfig, Manifest, ShardEntry, write_manifest, write_shard


def synthetic_sample(index: int, frames: int = 2, size: tuple[int, int] = (16, 24)) -> dict:
    """A matting sample whose pixels are a function of its index (smooth, so lossy codecs stay close)."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    t = np.arange(frames)[:, None, None]
    base = 127 + 100 * np.sin(yy / 6 + index + t) * np.cos(xx / 9 - t)
    fgr = np.stack([base, 255 - base, base * 0.5 + 40 + 0 * t], -1).astype(np.uint8)
    pha = np.clip((base - 60) * 2, 0, 255)[..., None].astype(np.uint8)
    bgr = np.ascontiguousarray(fgr[..., ::-1])
    return {"fgr": fgr, "pha": pha, "bgr": bgr, "spec": {"index": index, "name": f"sample {index}"}}


def make_build(root: Path, shard_sizes: list[int], codec: CodecConfig | None = None, split: str = "train",
               **sample_kwargs) -> Path:
    """Write shards of consecutive sample indices and their manifest; return the build folder."""
    entries, index = [], 0
    for n, count in enumerate(shard_sizes):
        samples = [synthetic_sample(i, **sample_kwargs) for i in range(index, index + count)]
        info = write_shard(root / split / f"test-{n:06d}.tar", samples, codec or CodecConfig(color="png"))
        entries.append(ShardEntry(f"{split}/{info.name}", info.samples, info.bytes, info.sha256))
        index += count
    write_manifest(root, Manifest({"name": "test"}, "0" * 64, {split: entries}))
    return root
