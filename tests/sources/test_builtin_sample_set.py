from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from rvm_data.sources import build_catalog, builtin, load_background, load_matte
from rvm_data.sources.builtin import builtin_sources, ensure_sample_set

_ENSURE = "import sys; from rvm_data.sources.builtin import ensure_sample_set; print(ensure_sample_set(sys.argv[1]))"


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """Two processes at once on one cache folder: one generates, the other waits for it."""
    base = tmp_path_factory.mktemp("cache")
    procs = [subprocess.Popen([sys.executable, "-c", _ENSURE, str(base / "a")], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, results, strict=True):
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


def test_background_photographs_are_the_shipped_ones_without_people(cache):
    """Every photograph is a file of scikit-image's wheel with the sha256 pinned beside its licence;
    none of them is the Grace Hopper portrait (or any picture of a person)."""
    names = [name for split in builtin.SPLITS for name, _, _ in builtin.PHOTOS[split]]
    assert not {"grace_hopper.jpg", "astronaut.png", "camera.png", "coins.png"} & set(names)
    assert set(n for n, _, _ in builtin.PHOTOS["train"]).isdisjoint(n for n, _, _ in builtin.PHOTOS["valid"])
    for split in builtin.SPLITS:
        for name, sha256, about in builtin.PHOTOS[split]:
            assert any(word in about for word in ("CC0", "public domain"))
            photo = builtin.read_photo(name, sha256)
            assert photo.ndim == 3 and photo.shape[2] == 3 and min(photo.shape[:2]) >= 256
    # the crops are of them: each photo background image matches its own photograph's colours best
    catalog = build_catalog(builtin_sources("valid", cache_dir=cache / "a"))
    first = load_background(catalog.background_images[0], [0])[0]
    means = {name: builtin.read_photo(name, sha).reshape(-1, 3).mean(0) for name, sha, _ in builtin.PHOTOS["valid"]}
    assert [row for row in builtin.stamp()["photos"] if row[0] == "valid"][0][1] == "chelsea.png"
    assert np.abs(first.reshape(-1, 3).mean(0) - means["chelsea.png"]).sum() < 120


def test_a_photograph_that_is_not_the_pinned_one_is_a_clear_error(monkeypatch):
    from rvm_data.sources.errors import SourceError

    name, _, _ = builtin.PHOTOS["train"][0]
    with pytest.raises(SourceError, match=rf"skimage/data/{name}: not the photograph this generator was made for"):
        builtin.read_photo(name, "0" * 64)

    def missing(package):
        raise builtin.PackageNotFoundError(package)

    monkeypatch.setattr(builtin, "distribution", missing)
    with pytest.raises(SourceError, match=r"scikit-image: skimage/data/.*: scikit-image is not installed"):
        builtin.read_photo(name, "0" * 64)


def _people(split: str) -> list:
    """The people of every clip of a split, as the generator draws them (same generators, no pixels)."""
    from rvm_data.sources.synthetic import FigurePainter

    out = []
    for i in range(builtin.VIDEOMATTE[split]):
        height, width = builtin.VIDEOMATTE_SIZES[i % 2]
        count = builtin.VIDEOMATTE_PEOPLE[split][i]
        out.append(FigurePainter(builtin._rng("videomatte", split, i), 8, 8, 2, count).people)
    return out


def test_foreground_clips_hold_varied_people():
    train = _people("train")
    assert [len(clip) for clip in train] == [1, 2, 1, 3]  # several people in some clips
    styles = [person.style for clip in train + _people("valid") for person in clip]
    assert len({s.hair_style for s in styles}) >= 3 and len({s.pose for s in styles}) >= 3
    assert len({tuple(np.round(s.skin, 2)) for s in styles}) >= 4
    assert max(s.width for s in styles) - min(s.width for s in styles) > 0.05  # slim and broad builds
    assert any(s.glasses or s.hat is not None or s.jacket is not None for s in styles)
    assert len({s.short_sleeves for s in styles}) == 2


def test_several_people_are_each_visible_and_composited_over_each_other():
    from rvm_data.sources.synthetic import FigurePainter, _Layers

    painter = FigurePainter(np.random.default_rng(5), 216, 384, 4, people=3)
    _, alpha = painter.paint(1)
    alone = []
    for person in painter.people:
        layers = _Layers(painter.x, painter.y)
        person.paint(layers, 1)
        alone.append(layers.alpha)
    # "over" of the people's mattes, back to front, is the clip's matte
    np.testing.assert_allclose(alpha, 1 - np.prod([1 - a for a in alone], axis=0), atol=1e-4)
    for k, a in enumerate(alone):
        others = np.max([b for j, b in enumerate(alone) if j != k], axis=0)
        assert ((a > 0.5) & (others < 0.01)).sum() > 200  # each person shows somewhere on its own
        assert ((a > 0.02) & (a < 0.98)).mean() > 0.001  # with soft edges of its own
    with pytest.raises(ValueError, match="people"):
        FigurePainter(np.random.default_rng(0), 8, 8, 1, people=0)
