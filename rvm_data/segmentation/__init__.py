"""Person segmentation data (COCO panoptic, Supervisely Person, YouTubeVIS, the built-in set) -> img/seg shards.

sources -> :func:`build_seg_catalog` -> :func:`plan_seg_sample` -> :func:`render_seg_sample` ->
ShardWriter, the same one-way flow as matting samples.
"""

from rvm_data.segmentation.config import (
    IMAGE_AUGMENT,
    VIDEO_AUGMENT,
    SegAugmentConfig,
    SegmentationConfig,
    SegOutputConfig,
    SegSourceConfig,
)
from rvm_data.segmentation.plan import SegSampleSpec, plan_seg_sample
from rvm_data.segmentation.readers import SegCatalog, build_seg_catalog
from rvm_data.segmentation.render import render_seg_sample
from rvm_data.segmentation.rle import decode_rle

__all__ = [
    "IMAGE_AUGMENT",
    "VIDEO_AUGMENT",
    "SegAugmentConfig",
    "SegCatalog",
    "SegOutputConfig",
    "SegSampleSpec",
    "SegSourceConfig",
    "SegmentationConfig",
    "build_seg_catalog",
    "decode_rle",
    "plan_seg_sample",
    "render_seg_sample",
]
