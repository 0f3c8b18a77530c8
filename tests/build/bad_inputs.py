"""Odd and broken inputs for whole builds, shared by tests/build/test_bad_inputs.py and the README's
bad-input table (``python tests/build/bad_inputs.py`` prints it from real runs).

Every source frame k shows the grey level ``LEVELS[k]`` in colour and in alpha, and the recipe turns
augmentation off, so a shard frame whose centre is not ``LEVELS[spec.fgr.source_frames[t]]`` in fgr
and in pha is a frame read from the wrong place.
"""

from __future__ import annotations

import io
import os
import re
import sys
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import yaml

FRAMES = 12
LEVELS = [20 + 17 * k for k in range(FRAMES)]  # far apart, so lossy codecs cannot blur one into the next
SIZE = (36, 48)


def level_frames(frames: int = FRAMES, size: tuple[int, int] = SIZE) -> np.ndarray:
    return np.stack([np.full((*size, 3), level, np.uint8) for level in LEVELS[:frames]])


def write_folder(folder: Path, frames: np.ndarray, ext: str = ".png", gray: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for k, frame in enumerate(frames):
        params = [cv2.IMWRITE_JPEG_QUALITY, 98] if ext == ".jpg" else []
        assert cv2.imwrite(str(folder / f"{k:05d}{ext}"), frame[:, :, 0] if gray else frame, params)


def write_video(path: Path, frames: np.ndarray, codec: str, *, rate: Fraction = Fraction(25), bframes: int = 2,
                pix_fmt: str = "yuv420p", options: dict[str, str] | None = None,
                container_options: dict[str, str] | None = None, rotation: int = 0, transfer: int = 0) -> None:
    """``rotation``: a display matrix turning the frames (degrees counter-clockwise, as phones write it);
    ``transfer``: an AVColorTransferCharacteristic to tag (with BT.2020 primaries), e.g. 18 for HLG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", options=container_options or {}) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], pix_fmt
        stream.codec_context.gop_size = 4
        if rotation:
            stream.set_display_rotation(rotation)
        if transfer:
            stream.codec_context.color_trc = transfer
            stream.codec_context.color_primaries = stream.codec_context.colorspace = 9  # BT.2020
        if codec in ("mpeg4", "mpeg2video"):
            stream.codec_context.max_b_frames = bframes
            stream.codec_context.qmin, stream.codec_context.qmax = 1, 2
        stream.options = options or {}
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")))
        container.mux(stream.encode())


def write_sources(root: Path) -> None:
    """Two foreground frame-folder clips, one background video folder, two background images."""
    for clip in ("clip0", "clip1"):
        write_folder(root / "vm" / "fgr" / clip, level_frames())
        write_folder(root / "vm" / "pha" / clip, level_frames(), gray=True)
    write_folder(root / "bgv" / "video0", level_frames()[:, :, :, ::-1])
    for i in range(2):
        (root / "bgi").mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / "bgi" / f"image{i}.jpg"), np.full((40, 52, 3), 90 + 40 * i, np.uint8))


def recipe_data(root: Path, on_bad_clip: str) -> dict:
    return {
        "name": "badinputs",
        "seed": 1,
        "sources": {"train": {"foreground_kind": "videomatte", "foreground": f"{root}/vm",
                              "background_videos": f"{root}/bgv", "background_images": f"{root}/bgi",
                              "on_bad_clip": on_bad_clip}},
        "outputs": {"lr": {"compose": {"size": [24, 32], "frames": 4}, "samples": {"train": 8}, "augment": []}},
        "shards": {"samples_per_shard": 4, "codec": {"color": "png", "alpha": "png"}},
    }


# ------------------------------------------------------------------------------------ the cases


# Every window of 4 of the 12 frames holds one of these, so every sample drawing the clip meets the damage.
DAMAGED = (2, 6, 9)


def _cut(path: Path, keep: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _replace_clip_with_video(root: Path, kind: str, name: str, suffix: str, codec: str, **kw) -> Path:
    folder = root / "vm" / kind / name
    for f in folder.iterdir():
        f.unlink()
    folder.rmdir()
    path = root / "vm" / kind / f"{name}{suffix}"
    frames = level_frames()
    write_video(path, frames, codec, **kw)
    return path


def truncated_jpeg(root: Path) -> str:
    folder = root / "vm" / "fgr" / "clip1"
    for f in sorted(folder.iterdir()):
        cv2.imwrite(str(f.with_suffix(".jpg")), cv2.imread(str(f)), [cv2.IMWRITE_JPEG_QUALITY, 98])
        f.unlink()
    for k in DAMAGED:
        _cut(folder / f"{k:05d}.jpg", 0.5)
    return "vm/fgr/clip1/"


def truncated_png(root: Path) -> str:
    for k in DAMAGED:
        _cut(root / "vm" / "pha" / "clip1" / f"{k:05d}.png", 0.5)
    return "vm/pha/clip1/"


def missing_matte_frame(root: Path) -> str:
    (root / "vm" / "pha" / "clip1" / "00005.png").unlink()
    return "vm/pha/clip1"


def fifo_in_frame_folder(root: Path) -> str:
    for k in DAMAGED:
        path = root / "vm" / "fgr" / "clip1" / f"{k:05d}.png"
        path.unlink()
        os.mkfifo(path)
    return "vm/fgr/clip1/"


def empty_frame_folder(root: Path) -> str:
    for f in (root / "vm" / "fgr" / "clip1").iterdir():
        f.unlink()
    return "vm/fgr/clip1"


def corrupt_video(root: Path) -> str:
    path = _replace_clip_with_video(root, "fgr", "clip1", ".mp4", "libx264")
    path.write_bytes(b"\0" * 64 + os.urandom(1000))
    return "vm/fgr/clip1.mp4"


def video_shorter_than_header(root: Path) -> str:
    path = _replace_clip_with_video(root, "pha", "clip1", ".mp4", "libx264", options={"bf": "0"},
                                    container_options={"movflags": "+faststart"})
    _cut(path, 0.6)  # the index at the front still lists every frame
    return "vm/pha/clip1.mp4"


def undecodable_background_image(root: Path) -> str:
    (root / "bgi" / "image1.jpg").write_text("this is not a JPEG")
    return "bgi/image1.jpg"


def mp4_fgr_avi_pha(root: Path) -> str:
    _replace_clip_with_video(root, "fgr", "clip1", ".mp4", "libx264", options={"bf": "3", "crf": "0"})
    _replace_clip_with_video(root, "pha", "clip1", ".avi", "mpeg4", bframes=2)
    return ""


def h264_avi_pha(root: Path) -> str:
    _replace_clip_with_video(root, "pha", "clip1", ".avi", "libx264", options={"bf": "3", "crf": "0"})
    return ""


def mpeg_ts_and_ps(root: Path) -> str:
    _replace_clip_with_video(root, "fgr", "clip1", ".ts", "mpeg2video", bframes=2)
    _replace_clip_with_video(root, "pha", "clip1", ".mpg", "mpeg2video", bframes=2)
    return ""


def ntsc_rate_mov(root: Path) -> str:
    _replace_clip_with_video(root, "fgr", "clip1", ".mov", "libx264", rate=Fraction(30000, 1001),
                             options={"bf": "2", "crf": "0"})
    return ""


def portrait_phone_clips(root: Path) -> str:
    for kind in ("fgr", "pha"):
        _replace_clip_with_video(root, kind, "clip1", ".mp4", "libx264", options={"crf": "0"}, rotation=-90)
    return ""


def hdr_colour(root: Path) -> str:
    _replace_clip_with_video(root, "fgr", "clip1", ".mov", "libx264", pix_fmt="yuv420p10le", transfer=18)
    return "vm/fgr/clip1.mov"


@dataclass(frozen=True)
class Case:
    name: str
    what: str  # the README's words for the input
    make: Callable[[Path], str]  # damages a fresh source tree; returns the damaged file or folder ("" = nothing)
    on_dask: bool = False


CASES = [
    Case("truncated-jpeg", "JPEG frames cut in half in a foreground clip", truncated_jpeg, on_dask=True),
    Case("truncated-png", "PNG matte frames cut in half", truncated_png),
    Case("missing-matte-frame", "a matte frame missing in the middle of a frame folder", missing_matte_frame),
    Case("fifo", "FIFOs in place of frame files", fifo_in_frame_folder),
    Case("empty-folder", "an empty foreground frame folder", empty_frame_folder),
    Case("corrupt-video", "a foreground .mp4 that is not a video", corrupt_video),
    Case("short-video", "a matte .mp4 cut short (fewer frames than its index lists)", video_shorter_than_header,
         on_dask=True),
    Case("bad-background", "a background .jpg that is not an image", undecodable_background_image),
    Case("mp4-avi", "colour H.264 .mp4 with B-frames, matte mpeg4 .avi with B-frames", mp4_fgr_avi_pha),
    Case("h264-avi", "matte H.264 with B-frames in .avi", h264_avi_pha),
    Case("mpeg-ts-ps", "colour MPEG-2 .ts, matte MPEG-2 .mpg (program stream), B-frames", mpeg_ts_and_ps),
    Case("ntsc-mov", "colour H.264 .mov at 30000/1001 fps", ntsc_rate_mov),
    Case("phone-portrait", "colour and matte .mp4 recorded portrait (a display matrix turning them by -90°)",
         portrait_phone_clips),
    Case("hdr-video", "a colour 10-bit HLG (HDR) .mov, what phones record by default", hdr_colour),
]


# ------------------------------------------------------------------------------------ running one


@dataclass(frozen=True)
class Outcome:
    code: int
    message: str  # the CLI's last stderr line (error) or the summary line (success), paths as SRC/... OUT/...
    skipped: tuple[dict, ...]  # the manifest's record of skipped clips
    bad_frames: tuple[str, ...]  # shard frames whose fgr or pha is not the spec's source frame
    clips: tuple[str, ...]  # the foreground clips the samples show
    digest: str  # sha256 over the shards' bytes, in manifest order ("" when nothing was built)


def run_build(root: Path, out: Path, on_bad_clip: str, *extra: str) -> Outcome:
    """``rvm-data build`` in this process, as a user runs it; then read back and check every frame."""
    import hashlib

    from rvm_data.cli import main
    from rvm_data.shards import ShardDataset
    from rvm_data.shards.manifest import read_manifest

    recipe = root / f"recipe-{on_bad_clip}.yaml"
    recipe.write_text(yaml.safe_dump(recipe_data(root, on_bad_clip), sort_keys=False))
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        code = main(["build", str(recipe), "--out", str(out), "--no-progress", *extra])
    lines = (stderr.getvalue() if code else stdout.getvalue()).strip().splitlines()
    message = lines[-1] if lines else ""
    message = message.replace(str(out), "OUT").replace(str(root), "SRC")
    message = re.sub(r"in [0-9.]+ s = [0-9]+ frames/s on [^,;]*", "in … s", message)
    if code:
        return Outcome(code, message, (), (), (), "")
    manifest = read_manifest(out)
    bad, clips = [], set()
    digest = hashlib.sha256()
    for entries in manifest.splits.values():
        for entry in entries:
            digest.update((out / entry.path).read_bytes())
    for sample in ShardDataset(out, split="train", output="lr", shuffle=False, with_spec=True):
        spec = sample["spec"]
        clips.add(spec["fgr"]["source"]["name"])
        for t, k in enumerate(spec["fgr"]["source_frames"]):
            want = LEVELS[k]
            got_fgr, got_pha = int(sample["fgr"][t, 0, 12, 16]), int(sample["pha"][t, 0, 12, 16])
            if abs(got_fgr - want) > 4 or abs(got_pha - want) > 4:
                bad.append(f"{spec['fgr']['source']['name']} sample {spec['index']} frame {t}: source frame {k} "
                           f"should be {want}, fgr {got_fgr}, pha {got_pha}")
    skipped = tuple(getattr(manifest, "skipped", ()))
    return Outcome(code, message, skipped, tuple(bad), tuple(sorted(clips)), digest.hexdigest())


def table_row(case: Case, error: Outcome, skip: Outcome) -> str:
    def cell(outcome: Outcome) -> str:
        if outcome.code:
            return f"stops: `{outcome.message}`"
        if outcome.bad_frames:
            return f"WRONG FRAMES: {outcome.bad_frames[0]}"
        if "clip1" not in outcome.clips and not outcome.skipped:
            return "SILENTLY LEFT OUT: no sample shows clip1"
        if outcome.skipped:
            s = outcome.skipped[0]
            reason = s["reason"].replace(root_of(s["path"]), "SRC")
            if s["found"] == "indexing":
                return f"leaves {s['collection']} `{s['name']}` out at indexing ({reason}); every frame exact"
            return (f"replaces the {sum(x['samples'] for x in outcome.skipped)} samples that read "
                    f"{s['collection']} `{s['name']}` ({reason}); every frame exact")
        return "builds; every frame exact"

    return f"| {case.what} | {cell(error)} | {cell(skip)} |"


def root_of(path: str) -> str:
    """The source tree a skipped file lies in (the folder above ``vm``/``bgv``/``bgi``)."""
    parts = Path(path).parts
    for top in ("vm", "bgv", "bgi"):
        if top in parts:
            return str(Path(*parts[: parts.index(top)]))
    return path


TABLE_HEAD = ["| input | `on_bad_clip: error` | `on_bad_clip: skip` |", "|---|---|---|"]


def main() -> None:
    import tempfile

    chosen = set(sys.argv[1:])
    print("\n".join(TABLE_HEAD), flush=True)
    for case in CASES:
        if chosen and case.name not in chosen:
            continue
        outcomes = []
        for mode, extra in (("error", ()), ("skip", ("--workers", "2"))):
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp) / "src"
                write_sources(root)
                case.make(root)
                outcomes.append(run_build(root, Path(tmp) / "out", mode, *extra))
        print(table_row(case, *outcomes), flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
