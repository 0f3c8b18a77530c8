"""HDR video (PQ or HLG transfer, as phones record by default) is refused naming the file and its
transfer, under ``on_bad_clip`` like any bad clip: read as 8-bit RGB without tone mapping, its colours
would come out flat and wrong without a word. 10-bit SDR video reads as before."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from rvm_data.sources import SourceError, SourcesConfig, build_catalog
from rvm_data.sources.video import probe_video

H, W = 48, 64
PQ, HLG, BT709, BT2020 = 16, 18, 1, 9  # AVColorTransferCharacteristic / AVColorPrimaries values


def _write(path: Path, transfer: int, primaries: int) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p10le"
        context = stream.codec_context
        context.color_trc, context.color_primaries, context.colorspace = transfer, primaries, primaries
        for t in range(3):
            rgb = np.full((H, W, 3), 40 * t + 30, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p10le")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.mark.parametrize(("transfer", "name"), [(PQ, r"PQ \(SMPTE ST 2084\)"), (HLG, r"HLG \(ARIB STD-B67\)")])
def test_hdr_video_is_refused_naming_the_file_and_its_transfer(tmp_path, transfer, name):
    path = _write(tmp_path / "phone.mov", transfer, BT2020)
    with pytest.raises(SourceError, match=rf"phone\.mov: HDR video with the {name} transfer.*convert it to SDR"):
        probe_video(str(path))


def test_ten_bit_sdr_video_reads_and_an_hdr_clip_is_skipped_in_skip_mode(tmp_path):
    folder = tmp_path / "bgv"
    folder.mkdir()
    assert probe_video(str(_write(folder / "sdr.mp4", BT709, BT709))).frames == 3
    _write(folder / "hdr.mp4", HLG, BT2020)
    images = tmp_path / "bgi"
    images.mkdir()
    fg = tmp_path / "fg"
    (fg / "fgr").mkdir(parents=True)
    (fg / "pha").mkdir()
    cv2.imwrite(str(fg / "fgr" / "a.png"), np.full((H, W, 3), 90, np.uint8))
    cv2.imwrite(str(fg / "pha" / "a.png"), np.full((H, W), 255, np.uint8))
    with pytest.warns(UserWarning, match="hdr.mp4"):
        catalog = build_catalog(SourcesConfig(str(fg), "imagematte", background_videos=str(folder), on_bad_clip="skip"))
    assert [clip.name for clip in catalog.background_videos] == ["sdr"]
    assert [(s.name, "HDR video" in s.reason) for s in catalog.skipped] == [("hdr", True)]
