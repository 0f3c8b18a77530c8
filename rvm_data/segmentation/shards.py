"""One segmentation shard job, for the build to run like a matting shard job.

A build runs, per (segmentation output, split), jobs of consecutive sample indices; each job plans,
renders and writes its samples through ShardWriter, so a shard's bytes depend only on the recipe
and the job, never on the worker or the order of work.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rvm_data.segmentation.config import SegmentationConfig, SegOutputConfig
from rvm_data.segmentation.plan import plan_seg_sample
from rvm_data.segmentation.readers import SegCatalog, build_seg_catalog
from rvm_data.segmentation.render import render_seg_sample
from rvm_data.shards import CodecConfig, ShardInfo, ShardWriter


def seg_catalog(config: SegmentationConfig, split: str, expand: Callable[[str], str] = str) -> SegCatalog:
    """Index one split's segmentation sources; ``expand`` resolves ``${VARS}`` in their paths."""
    return build_seg_catalog([s.with_paths(expand) for s in config.sources[split]])


def render_seg_shard(
    path: str | Path,
    output: SegOutputConfig,
    catalog: SegCatalog,
    *,
    seed: int,
    split: str,
    start: int,
    stop: int,
    codec: CodecConfig | None = None,
    on_sample: Callable[[], None] | None = None,
) -> ShardInfo:
    """Plan, render and write samples ``[start, stop)`` of one output and split into the shard ``path``
    (the build runs it as one job, OpenCV single-threaded, like a matting shard; ``on_sample()`` after
    each sample)."""
    augment = split in output.augment
    with ShardWriter(path, codec) as writer:
        for index in range(start, stop):
            spec = plan_seg_sample(output, catalog, seed=seed, split=split, index=index, augment=augment)
            writer.write(render_seg_sample(spec, catalog))
            if on_sample is not None:
                on_sample()
    assert writer.info is not None
    return writer.info
