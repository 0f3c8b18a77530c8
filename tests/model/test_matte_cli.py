"""``rvm-data matte`` on tiny generated clips: files, frame counts, sizes, errors."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import torch

from rvm_data.cli import main
from rvm_data.model import MattingNetwork

FRAMES, HEIGHT, WIDTH = 5, 48, 64


def make_frames(height: int, width: int, frames: int) -> np.ndarray:
    """A bright square moving over a gradient: enough structure to encode, cheap to make."""
    rows = np.linspace(0, 255, height, dtype=np.uint8)[:, None, None]
    video = np.broadcast_to(rows, (frames, height, width, 3)).copy()
    for t in range(frames):
        video[t, 8:24, 4 + 4 * t : 20 + 4 * t] = (250, 40, 40)
    return video


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "rvm.pth"
    torch.save(MattingNetwork().state_dict(), path)
    return path


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.height, stream.width, stream.pix_fmt = HEIGHT, WIDTH, "yuv420p"
        for image in make_frames(HEIGHT, WIDTH, FRAMES):
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def decoded_shapes(path: Path) -> list[tuple[int, ...]]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24").shape for frame in container.decode(video=0)]


def test_png_output_from_video(video: Path, checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    rc = main(["matte", str(video), "--checkpoint", str(checkpoint), "--out", str(out),
               "--format", "png", "--downsample-ratio", "0.5", "--chunk", "2"])
    assert rc == 0
    assert f"matted {FRAMES} frames" in capsys.readouterr().out
    for kind, channels in (("pha", 1), ("fgr", 3), ("com", 3)):
        files = sorted((out / kind).iterdir())
        assert [f.name for f in files] == [f"{i:05d}.png" for i in range(FRAMES)]
        image = cv2.imread(str(files[0]), cv2.IMREAD_UNCHANGED)
        assert image.shape[:2] == (HEIGHT, WIDTH) and (image.ndim == 2) == (channels == 1)


def test_video_output_from_odd_sized_frame_folder(checkpoint: Path, tmp_path: Path) -> None:
    frames_dir = tmp_path / "frames"
    frames_dir.mkdir()
    for i, image in enumerate(make_frames(37, 45, 3)):
        cv2.imwrite(str(frames_dir / f"{i:05d}.jpg"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    out = tmp_path / "out"
    rc = main(["matte", str(frames_dir), "--checkpoint", str(checkpoint), "--out", str(out), "--background", "white"])
    assert rc == 0
    for kind in ("com", "pha", "fgr"):
        assert decoded_shapes(out / f"{kind}.mp4") == [(37, 45, 3)] * 3


def test_chunking_does_not_change_the_result(video: Path, checkpoint: Path, tmp_path: Path) -> None:
    for chunk in (1, 5):
        assert main(["matte", str(video), "--checkpoint", str(checkpoint), "--out", str(tmp_path / str(chunk)),
                     "--format", "png", "--chunk", str(chunk)]) == 0
    for i in range(FRAMES):
        a = cv2.imread(str(tmp_path / "1" / "pha" / f"{i:05d}.png"), cv2.IMREAD_UNCHANGED).astype(int)
        b = cv2.imread(str(tmp_path / "5" / "pha" / f"{i:05d}.png"), cv2.IMREAD_UNCHANGED).astype(int)
        assert np.abs(a - b).max() <= 1


def test_missing_checkpoint_is_a_one_line_error(video: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rc = main(["matte", str(video), "--checkpoint", str(tmp_path / "nope.pth"), "--out", str(tmp_path / "o")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "nope.pth" in err and err.count("\n") == 1


def test_unreadable_input_is_named(checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bogus = tmp_path / "notes.mp4"
    bogus.write_text("not a video")
    rc = main(["matte", str(bogus), "--checkpoint", str(checkpoint), "--out", str(tmp_path / "o")])
    assert rc == 2 and "notes.mp4" in capsys.readouterr().err


def test_a_folder_of_clips_is_matted_into_the_same_tree(checkpoint: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    # the layout `rvm-data export-frames` writes: <split>/<output>/<key>/com/<t>.png
    clips = {"test/motion/000000000": 2, "test/static/000000001": 3}
    for name, frames in clips.items():
        com = tmp_path / "frames" / name / "com"
        com.mkdir(parents=True)
        (com.parent / "pha").mkdir()  # ground truth beside it is not an input
        for i, image in enumerate(make_frames(32, 40, frames)):
            cv2.imwrite(str(com / f"{i:04d}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    out = tmp_path / "pred"
    assert main(["matte", str(tmp_path / "frames"), "--checkpoint", str(checkpoint), "--out", str(out),
                 "--format", "png"]) == 0
    printed = capsys.readouterr().out
    for name, frames in clips.items():
        assert f"{name}: matted {frames} frames" in printed
        assert len(list((out / name / "pha").iterdir())) == frames
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["matte", str(empty), "--checkpoint", str(checkpoint), "--out", str(out)]) == 2
    assert "no clip folders" in capsys.readouterr().err


def test_frame_folders_are_read_in_natural_order(tmp_path: Path) -> None:
    # unpadded numbering, as many exports write it: 2 comes before 10, as rvm-data evaluate orders them
    from rvm_data.model.inference import read_frames

    for value, name in ((10, "f1.png"), (20, "f2.png"), (30, "f10.png")):
        cv2.imwrite(str(tmp_path / name), np.full((4, 4, 3), value, np.uint8))
    assert [int(frame[0, 0, 0]) for frame in read_frames(tmp_path)] == [10, 20, 30]
