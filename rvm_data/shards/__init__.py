"""WebDataset-style tar shards: codecs, writer, manifest, the training loader and verification."""

from rvm_data.shards.codec import CodecConfig, CodecError
from rvm_data.shards.dataset import ShardDataset, ShardFile, ShardLoader, composite, read_sample, resolve_shards
from rvm_data.shards.manifest import MANIFEST_NAME, Manifest, ShardEntry, read_manifest, shard_output, write_manifest
from rvm_data.shards.reader import SampleRef, ShardError, count_samples, load_sample, scan_shard
from rvm_data.shards.writer import ShardInfo, ShardWriter, encode_sample, sample_key, write_shard

__all__ = [
    "CodecConfig", "CodecError", "MANIFEST_NAME", "Manifest", "SampleRef", "ShardDataset", "ShardEntry",
    "ShardError", "ShardFile", "ShardInfo", "ShardLoader", "ShardWriter", "composite", "count_samples", "encode_sample",
    "load_sample", "read_manifest", "read_sample", "resolve_shards", "sample_key", "scan_shard", "shard_output",
    "write_manifest", "write_shard",
]
