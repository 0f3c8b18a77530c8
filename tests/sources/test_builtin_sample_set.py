from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from rvm_data.sources import build_catalog, load_background, load_matte
from rvm_data.sources import builtin
from rvm_data.sources.builtin import builtin_sources, ensure_sample_set

_ENSURE = "import sys; from rvm_data.sources.builtin import ensure_sample_set; print(ensure_sample_set(sys.argv[1]))"


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """Two processes at once on one cache folder: one generates, the other waits for it."""
    base = tmp_path_factory.mktemp("cache")
    procs = [subprocess.Popen([sys.executable, "-c", _ENSURE, str(base / "a")], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, results):
        assert p.returncode == 0, err
    assert [Path(out.strip()) for out, _ in results] == [base / "a" / builtin.NAME] * 2
    return base


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != builtin.DONE_FILE}


def test_generation_is_byte_identical_and_leaves_nothing_behind(cache, tmp_path):
    whole = _files(cache / "a" / builtin.NAME)
    assert len(whole) > 500 and sum(len(v) for v in whole.values()) < 30 * 2 ** 20
    assert sorted(p.name for p in (cache / "a").iterdir()) == [f".{builtin.NAME}.lock", builtin.NAME]
    assert builtin.is_current(cache / "a" / builtin.NAME)
    # a second generation (another process, only the valid split) gives the same bytes
    builtin.generate(tmp_path / "again", splits=("valid",))
    again = _files(tmp_path / "again")
    assert again and all("valid" in name for name in again)
    assert [name for name in again if again[name] != whole.get(name)] == []


def test_layout_is_read_by_the_normal_readers(cache, monkeypatch):
    monkeypatch.setenv("RVM_DATA_CACHE", str(cache / "a"))
    assert ensure_sample_set() == cache / "a" / builtin.NAME
    for split in builtin.SPLITS:
        videos = build_catalog(builtin_sources(split))
        stills = build_catalog(builtin_sources(split, "imagematte"))
        assert len(videos.foregrounds) == builtin.VIDEOMATTE[split]
        assert {c.frames for c in videos.foregrounds} == {builtin.VIDEOMATTE_FRAMES}
        assert {(c.height, c.width) for c in videos.foregrounds} <= set(builtin.VIDEOMATTE_SIZES)
        assert len(stills.foregrounds) == builtin.IMAGEMATTE[split] and stills.foregrounds[0].frames == 1
        assert len(videos.background_videos) == builtin.BACKGROUND_VIDEOS[split]
        assert len(videos.background_images) == builtin.BACKGROUND_IMAGES[split]
        assert videos.skipped == []
    with pytest.raises(ValueError, match="split"):
        builtin_sources("test")


def test_foregrounds_look_like_mattes(cache):
    catalog = build_catalog(builtin_sources("train", cache_dir=cache / "a"))
    for clip in catalog.foregrounds:
        fgr, pha = load_matte(clip, [0, 12, 24])
        alpha = pha[..., 0]
        soft = (alpha > 0) & (alpha < 255)
        assert 0.005 < soft.mean() < 0.2  # fine edges, strands and the veil, not a binary blob
        assert ((alpha > 80) & (alpha < 140)).mean() > 0.002  # the translucent scarf
        assert 0.05 < (alpha > 0).mean() < 0.6
        # the figure moves: the matte changes between frames
        assert np.abs(alpha[0].astype(int) - alpha[1]).mean() > 1 and np.abs(alpha[1].astype(int) - alpha[2]).mean() > 1
        # textured colour inside the figure, not flat fills
        assert fgr[0][alpha[0] == 255].std(axis=0).min() > 10
    stills = build_catalog(builtin_sources("valid", "imagematte", cache_dir=cache / "a")).foregrounds
    _, pha = load_matte(stills[0], [0])
    assert ((pha > 0) & (pha < 255)).mean() > 0.005


def test_background_videos_move_and_images_vary(cache):
    catalog = build_catalog(builtin_sources("valid", cache_dir=cache / "a"))
    for clip in catalog.background_videos:
        frames = load_background(clip, [0, 1, clip.frames - 1]).astype(int)
        assert 0.5 < np.abs(frames[0] - frames[1]).mean() < np.abs(frames[0] - frames[2]).mean()
    images = [load_background(c, [0], min_size=(96, 128))[0] for c in catalog.background_images]
    assert all(image.shape[0] >= 96 and image.shape[1] >= 128 for image in images)
    assert np.abs(images[0].astype(int) - cv2.resize(images[1], images[0].shape[1::-1])).mean() > 10


def test_a_failed_generation_leaves_nothing(tmp_path, monkeypatch):
    def crash(root: Path) -> None:
        (root / "half-made").write_text("x")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(builtin, "generate", crash)
    with pytest.raises(RuntimeError, match="disk on fire"):
        ensure_sample_set(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [f".{builtin.NAME}.lock"]


def test_default_cache_location(monkeypatch, tmp_path):
    monkeypatch.delenv("RVM_DATA_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert builtin.cache_root() == tmp_path / ".cache" / "rvm-data" / builtin.NAME
    monkeypatch.setenv("RVM_DATA_CACHE", os.fspath(tmp_path / "c"))
    assert builtin.cache_root() == tmp_path / "c" / builtin.NAME
