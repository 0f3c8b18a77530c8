import numpy as np
import pytest

from shard_helpers import synthetic_sample
from rvm_data.shards.codec import CodecConfig, CodecError, decode_image, decode_video, encode_field


@pytest.mark.parametrize("color", ["jpg", "webp", "png"])
def test_image_codecs_round_trip_and_are_deterministic(color):
    sample = synthetic_sample(3, frames=2, size=(32, 48))
    codec = CodecConfig(color=color, quality=95)
    members = encode_field("fgr", sample["fgr"], codec)
    assert [name for name, _ in members] == [f"fgr.0000.{color}", f"fgr.0001.{color}"]
    assert members == encode_field("fgr", sample["fgr"], codec)
    decoded = np.stack([decode_image(data, color) for _, data in members])
    error = np.abs(decoded.astype(int) - sample["fgr"]).mean()
    assert error == 0 if color == "png" else error < 4
    alpha = encode_field("pha", sample["pha"], codec)
    assert alpha[0][0] == "pha.0000.png"
    assert np.array_equal(np.stack([decode_image(d, "png") for _, d in alpha]), sample["pha"])


def test_video_codecs_whole_sequence_alpha_lossless():
    sample = synthetic_sample(1, frames=3, size=(32, 48))
    codec = CodecConfig(color="mp4", alpha="mkv", crf=10)
    (name, data), = encode_field("fgr", sample["fgr"], codec)
    assert name == "fgr.mp4" and encode_field("fgr", sample["fgr"], codec) == [(name, data)]
    assert decode_video(data).shape == (3, 32, 48, 3)
    (name, data), = encode_field("pha", sample["pha"], codec)
    assert name == "pha.mkv" and np.array_equal(decode_video(data), sample["pha"])


def test_codec_config_validates_and_bad_bytes_raise():
    with pytest.raises(ValueError, match="codec.color"):
        CodecConfig(color="gif")
    with pytest.raises(ValueError, match="codec.quality"):
        CodecConfig(quality=0)
    with pytest.raises(CodecError):
        decode_image(b"not an image", "jpg")
    with pytest.raises(ValueError, match="uint8"):
        encode_field("fgr", np.zeros((1, 4, 4, 3), np.float32), CodecConfig())
