"""The codec registry (rvm_data.shards.codec.ENCODINGS): one Encoding per member extension, the same bytes
as the codec functions, and readers that find a field's encoding by its members' extension."""

import io
import tarfile

import numpy as np
import pytest
from shard_helpers import synthetic_sample

from rvm_data.shards.codec import ENCODINGS, CodecConfig, CodecError, Encoding, encode_field, encode_image, encoding
from rvm_data.shards.reader import load_sample, scan_shard


def test_the_registry_has_an_encoding_per_extension_matching_the_codec_functions():
    assert set(ENCODINGS) == {"jpg", "webp", "png", "mp4", "mkv"} and encoding("gif") is None
    sample = synthetic_sample(2, frames=3, size=(32, 48))
    for ext in ("jpg", "webp", "png"):
        enc = encoding(ext)
        data = enc.encode(sample["fgr"][0], CodecConfig(color=ext))
        assert enc.per_frame and data == encode_image(sample["fgr"][0], ext, CodecConfig(color=ext))
        assert enc.header(data) == (None, 32, 48, 3) and enc.decode(data).shape == (32, 48, 3)
        with pytest.raises(CodecError, match="frame is 32x48, expected 16x48"):
            enc.decode(data, (1, 16, 48))
    mkv = encoding("mkv")
    (_, data), = encode_field("pha", sample["pha"], CodecConfig(alpha="mkv"))
    assert not mkv.per_frame and mkv.encode(sample["pha"], CodecConfig(alpha="mkv")) == data
    assert mkv.header(data) == (3, 32, 48, 1) and np.array_equal(mkv.decode(data, (3, 32, 48)), sample["pha"])


class RawEncoding(Encoding):
    """A test encoding: 3 header bytes (H, W, C), then the pixels."""

    per_frame = True

    def encode(self, frames, codec):
        return bytes(frames.shape) + frames.tobytes()

    def header(self, data):
        return None, data[0], data[1], data[2]

    def decode(self, data, expected=None):
        return np.frombuffer(bytes(data[3:]), np.uint8).reshape(data[0], data[1], data[2])


def test_readers_look_encodings_up_by_member_extension(tmp_path, monkeypatch):
    monkeypatch.setitem(ENCODINGS, "raw", RawEncoding("raw"))
    frames = np.arange(2 * 4 * 5, dtype=np.uint8).reshape(2, 4, 5, 1)
    shard = tmp_path / "x-000000.tar"
    with tarfile.open(shard, "w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in [("000000000.spec.json", b'{"index": 0}'),
                           *((f"000000000.seg.000{t}.raw", RawEncoding("raw").encode(f, None))
                             for t, f in enumerate(frames))]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    ref, = scan_shard(str(shard))
    with open(shard, "rb") as f:
        sample = load_sample(ref, f)
    assert sample["spec"] == {"index": 0} and np.array_equal(sample["seg"], frames)
