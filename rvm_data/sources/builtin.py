"""The built-in sample set: small, deterministic matting data generated on first use.

It makes rvm-data usable on a machine with no dataset downloaded. Nothing is fetched: the
foregrounds and scenes are procedural (:mod:`rvm_data.sources.synthetic`) and the photographs are
crops of photographs without people that scikit-image ships inside its wheel (``skimage/data``; read
as files, the package is never imported), each checked against its sha256 so the set stays the same:
RVM's backgrounds hold no humans, and a person in a background teaches that people are background.

Layout under the root that :func:`ensure_sample_set` returns (``<cache>/sample-v<GENERATOR_VERSION>``),
the same as the real datasets so the normal readers read it::

    videomatte/{train,valid}/fgr/<clip>/<frame:05d>.jpg     foreground colour (JPEG, like VideoMatte240K)
    videomatte/{train,valid}/pha/<clip>/<frame:05d>.png     alpha (PNG)
    imagematte/{train,valid}/fgr/<name>.png                 still foreground colour
    imagematte/{train,valid}/pha/<name>.png                 still alpha
    backgrounds/videos/{train,valid}/<clip>/<frame:05d>.jpg background video frames
    backgrounds/images/{train,valid}/<name>.jpg             background photographs and rendered scenes
    sample-set.json                                         the stamp: generator version, seed, contents (written last)

Contents (train / valid): videomatte 4 / 2 clips of 40 frames (384x216 landscape and 216x384
portrait, W x H) of 1, 2, 1, 3 / 2, 1 half-body people who walk, turn their heads and move their arms
(wave, point, hands on hips, arms raised or down), each drawn with its own build, skin tone, hair
style (long, short, bun, curly, buzz) and colour, top (patterned or plain, maybe an open jacket, short
or long sleeves), accessories (glasses, a cap), hair strands and a translucent scarf (alpha about
0.4); imagematte 6 / 2 stills (256x320; every third has two people);
background videos 3 / 2 clips of 30 frames at 480x270 (landscapes and skylines with a panning,
zooming camera, parallax and moving objects); background images 8 / 3 at 512x384 (photo crops
and rendered scenes; the photographs, by split, in :data:`PHOTOS`).

The cache root is ``cache_dir`` if given, else ``$RVM_DATA_CACHE``, else ``~/.cache/rvm-data``.
Generation writes into a temporary folder beside the root and renames it into place, under a file
lock where the platform has one, so a crash leaves no half-made set and concurrent callers in
several processes all get the one complete set.

The cache checks itself: a set is used only if its ``sample-set.json`` equals :func:`stamp` (the
generator version, seed, counts and sizes); any other set in the folder (made by an earlier
generator, half deleted, unreadable) is replaced by a fresh one, never silently reused.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from .catalog import ForegroundKind, SourcesConfig
from .errors import SourceError
from .synthetic import FigurePainter, ScenePainter, to_uint8

# Bump GENERATOR_VERSION whenever the generated files change in any way (the painters in
# synthetic.py, the constants and encoder settings here, the photo crops): the folder name and the
# stamp follow it, so a cache made by another version is never used.
GENERATOR_VERSION = 3
NAME = f"sample-v{GENERATOR_VERSION}"
SEED = 20240611
DONE_FILE = "sample-set.json"
SPLITS = ("train", "valid")

# clips or images per split, frames per clip, (height, width); videomatte alternates landscape and portrait
VIDEOMATTE = {"train": 4, "valid": 2}
VIDEOMATTE_FRAMES = 40
VIDEOMATTE_SIZES = ((216, 384), (384, 216))
VIDEOMATTE_PEOPLE = {"train": (1, 2, 1, 3), "valid": (2, 1)}  # people in each clip
IMAGEMATTE = {"train": 6, "valid": 2}
IMAGEMATTE_SIZE = (320, 256)
BACKGROUND_VIDEOS = {"train": 3, "valid": 2}
BACKGROUND_FRAMES = 30
BACKGROUND_SIZE = (270, 480)
BACKGROUND_IMAGES = {"train": 8, "valid": 3}
BACKGROUND_IMAGE_SIZE = (384, 512)

# Photographs without people from scikit-image 0.26.0's wheel (skimage/data), with the licence its
# data module states for each, and the sha256 of the shipped file. Train and valid use different photos.
PHOTO_PACKAGE = "scikit-image"
PHOTOS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "train": (
        ("coffee.png", "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7",
         "a cup of coffee; CC0, Rachel Michetti"),
        ("rocket.jpg", "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c",
         "Falcon 9 on its launch pad at night; public domain, SpaceX"),
        ("grass.png", "b6b6022426b38936c43a4ac09635cd78af074e90f42ffa8227ac8b7452d39f89",
         "grass (grey, tinted here); CC0, CC0Textures"),
        ("brick.png", "7966caf324f6ba843118d98f7a07746d22f6a343430add0233eca5f6eaaa8fcf",
         "a brick wall (grey, tinted here); CC0, CC0Textures"),
    ),
    "valid": (
        ("chelsea.png", "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb",
         "Chelsea the cat; CC0, Stefan van der Walt"),
        ("gravel.png", "c48615b451bf1e606fbd72c0aa9f8cc0f068ab7111ef7d93bb9b0f2586440c12",
         "gravel (grey, tinted here); CC0, CC0Textures"),
    ),
}

_JPEG = [cv2.IMWRITE_JPEG_QUALITY, 92]
_PNG = [cv2.IMWRITE_PNG_COMPRESSION, 3]
_PART_IDS = {"videomatte": 0, "imagematte": 1, "background_videos": 2, "background_images": 3}


def _rng(part: str, split: str, index: int) -> np.random.Generator:
    """Each item gets its own stream, so adding items never changes the others."""
    return np.random.default_rng([SEED, _PART_IDS[part], SPLITS.index(split), index])


def _write(path: Path, rgb_or_gray: np.ndarray) -> None:
    image = rgb_or_gray if rgb_or_gray.ndim == 2 else cv2.cvtColor(rgb_or_gray, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(path), image, _JPEG if path.suffix == ".jpg" else _PNG):
        raise OSError(f"{path}: cannot write image")


def _videomatte(root: Path, split: str) -> Iterator[None]:
    for i in range(VIDEOMATTE[split]):
        height, width = VIDEOMATTE_SIZES[i % 2]
        painter = FigurePainter(_rng("videomatte", split, i), height, width, VIDEOMATTE_FRAMES,
                                VIDEOMATTE_PEOPLE[split][i % len(VIDEOMATTE_PEOPLE[split])])
        name = f"{split}_{i:03d}"
        fgr_dir, pha_dir = root / "videomatte" / split / "fgr" / name, root / "videomatte" / split / "pha" / name
        fgr_dir.mkdir(parents=True)
        pha_dir.mkdir(parents=True)
        for t in range(VIDEOMATTE_FRAMES):
            fgr, pha = painter.paint(t)
            _write(fgr_dir / f"{t:05d}.jpg", to_uint8(fgr))
            _write(pha_dir / f"{t:05d}.png", to_uint8(pha))
            yield


def _imagematte(root: Path, split: str) -> Iterator[None]:
    for folder in ("fgr", "pha"):
        (root / "imagematte" / split / folder).mkdir(parents=True)
    for i in range(IMAGEMATTE[split]):
        rng = _rng("imagematte", split, i)
        frames = 24
        fgr, pha = FigurePainter(rng, *IMAGEMATTE_SIZE, frames, 1 + (i % 3 == 2)).paint(int(rng.integers(frames)))
        _write(root / "imagematte" / split / "fgr" / f"{split}_{i:03d}.png", to_uint8(fgr))
        _write(root / "imagematte" / split / "pha" / f"{split}_{i:03d}.png", to_uint8(pha))
        yield


def _background_videos(root: Path, split: str) -> Iterator[None]:
    for i in range(BACKGROUND_VIDEOS[split]):
        painter = ScenePainter(_rng("background_videos", split, i), *BACKGROUND_SIZE, BACKGROUND_FRAMES,
                               ("landscape", "skyline")[i % 2])
        folder = root / "backgrounds" / "videos" / split / f"{split}_{i:03d}"
        folder.mkdir(parents=True)
        for t in range(BACKGROUND_FRAMES):
            _write(folder / f"{t:05d}.jpg", to_uint8(painter.paint(t)))
            yield


def read_photo(name: str, sha256: str) -> np.ndarray:
    """One of :data:`PHOTOS` as RGB uint8, read from the installed scikit-image wheel (never downloaded)."""
    where = f"{PHOTO_PACKAGE}: skimage/data/{name}"
    try:
        path = distribution(PHOTO_PACKAGE).locate_file(f"skimage/data/{name}")
    except PackageNotFoundError:
        raise SourceError(where, f"{PHOTO_PACKAGE} is not installed (pip install -e .); the built-in set's "
                          "background photographs come from its wheel") from None
    try:
        data = Path(str(path)).read_bytes()
    except OSError as error:
        raise SourceError(str(path), f"cannot read the photograph: {error.strerror or error}") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise SourceError(str(path), f"not the photograph this generator was made for (sha256 differs; "
                          f"{PHOTO_PACKAGE}==0.26.0 ships it)")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise SourceError(str(path), "cannot decode the photograph")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _photo_variant(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A crop of the photograph, possibly mirrored, rotated a little and colour graded (grey ones tinted)."""
    out_h, out_w = BACKGROUND_IMAGE_SIZE
    h, w = photo.shape[:2]
    scale = rng.uniform(out_w / w, 1.6 * out_w / w)
    angle = rng.uniform(-8, 8)
    cx, cy = rng.uniform(0.35, 0.65) * w, rng.uniform(0.3, 0.7) * h
    m = cv2.getRotationMatrix2D((float(cx), float(cy)), angle, scale)
    m[:, 2] += [out_w / 2 - cx, out_h / 2 - cy]
    image = cv2.warpAffine(photo, m, (out_w, out_h), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT)
    if rng.random() < 0.5:
        image = image[:, ::-1]
    grade = rng.uniform(0.8, 1.2, 3)
    if np.array_equal(photo[..., 0], photo[..., 1]) and np.array_equal(photo[..., 1], photo[..., 2]):
        grade *= rng.uniform(0.45, 1.25, 3)  # a grey texture gets a colour of its own
    return np.clip(image.astype(np.float32) * grade, 0, 255).astype(np.uint8)


def _background_images(root: Path, split: str) -> Iterator[None]:
    folder = root / "backgrounds" / "images" / split
    folder.mkdir(parents=True)
    photos = [read_photo(name, sha256) for name, sha256, _ in PHOTOS[split]]
    for i in range(BACKGROUND_IMAGES[split]):
        rng = _rng("background_images", split, i)
        if i % 2 == 0:
            image = _photo_variant(photos[(i // 2) % len(photos)], rng)
        else:
            painter = ScenePainter(rng, *BACKGROUND_IMAGE_SIZE, 2, ("landscape", "skyline")[(i // 2) % 2])
            image = to_uint8(painter.paint(int(rng.integers(2))))
        _write(folder / f"{split}_{i:03d}.jpg", image)
        yield


def frame_count(splits: tuple[str, ...] = SPLITS) -> int:
    """Frames and stills :func:`generate` writes (its progress bar's total)."""
    return sum(VIDEOMATTE[split] * VIDEOMATTE_FRAMES + IMAGEMATTE[split] + BACKGROUND_VIDEOS[split]
               * BACKGROUND_FRAMES + BACKGROUND_IMAGES[split] for split in splits)


def generate(root: Path, splits: tuple[str, ...] = SPLITS, *, progress: bool | None = None) -> None:
    """Write the sample set (``splits`` of it) into the empty or missing folder ``root``.

    Every item has its own generator, so one split alone comes out byte-identical to the same split
    of the whole set. ``progress``: a bar per frame written (None: only when stderr is a terminal).
    """
    parts = (_videomatte, _imagematte, _background_videos, _background_images)
    with tqdm(total=frame_count(splits), unit="frame", desc="built-in sample set", dynamic_ncols=True,
              disable=None if progress is None else not progress) as bar:
        for split in splits:
            for part in parts:
                for _ in part(root, split):
                    bar.update()
    (root / DONE_FILE).write_text(json.dumps(stamp(splits), indent=2, sort_keys=True) + "\n")


def stamp(splits: tuple[str, ...] = SPLITS) -> dict[str, object]:
    """What ``sample-set.json`` says of a set made by this generator (as read back from JSON)."""
    return {"name": NAME, "generator_version": GENERATOR_VERSION, "seed": SEED, "splits": list(splits),
            "videomatte": VIDEOMATTE, "videomatte_frames": VIDEOMATTE_FRAMES,
            "videomatte_sizes": [list(size) for size in VIDEOMATTE_SIZES],
            "videomatte_people": [list(VIDEOMATTE_PEOPLE[split]) for split in SPLITS],  # lists: the CLI counts dicts
            "imagematte": IMAGEMATTE, "imagematte_size": list(IMAGEMATTE_SIZE),
            "background_videos": BACKGROUND_VIDEOS, "background_video_frames": BACKGROUND_FRAMES,
            "background_video_size": list(BACKGROUND_SIZE),
            "background_images": BACKGROUND_IMAGES, "background_image_size": list(BACKGROUND_IMAGE_SIZE),
            "photos": [[split, name, sha256] for split in SPLITS for name, sha256, _ in PHOTOS[split]]}


def is_current(root: Path) -> bool:
    """Whether ``root`` holds a complete set made by this generator (its stamp matches)."""
    try:
        return bool(json.loads((root / DONE_FILE).read_text()) == stamp())
    except (OSError, ValueError):
        return False


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    parent = cache_dir or os.environ.get("RVM_DATA_CACHE") or "~/.cache/rvm-data"
    return Path(parent).expanduser() / NAME


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[bool]:
    """Hold an exclusive lock on ``path``; yields False where the platform has no flock."""
    try:
        import fcntl
    except ImportError:
        yield False
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _move_into_place(staging: Path, root: Path) -> None:
    """Rename the finished set to ``root``; a stale set there is first moved aside (to a temporary
    name that later runs clean up) and then deleted, so ``root`` never holds a mixture."""
    if root.exists():
        aside = Path(tempfile.mkdtemp(prefix=f".{NAME}-tmp-", dir=root.parent))
        os.rename(root, aside / "stale")
        os.rename(staging, root)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        os.rename(staging, root)


def ensure_sample_set(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Root of the built-in sample set, generating it first if it is missing or stale (its stamp
    is not this generator's)."""
    root = cache_root(cache_dir)
    if is_current(root):
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    with _locked(root.parent / f".{NAME}.lock") as exclusive:
        if is_current(root):
            return root
        if exclusive:  # nobody else is generating: leftovers of crashed runs can go
            for stale in root.parent.glob(f".{NAME}-tmp-*"):
                shutil.rmtree(stale, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{NAME}-tmp-", dir=root.parent))
        try:
            generate(staging)
            _move_into_place(staging, root)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if not is_current(root):  # lost a lock-free race only if the winner finished
                raise
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return root


def builtin_sources(split: str = "train", foreground_kind: ForegroundKind = "videomatte",
                    cache_dir: str | os.PathLike[str] | None = None) -> SourcesConfig:
    """A ready SourcesConfig over the built-in set for ``split`` (generating the set if needed)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if foreground_kind not in ("videomatte", "imagematte"):
        raise ValueError(f"foreground_kind must be 'videomatte' or 'imagematte', got {foreground_kind!r}")
    root = ensure_sample_set(cache_dir)
    return SourcesConfig(foreground=str(root / foreground_kind / split), foreground_kind=foreground_kind,
                         background_videos=str(root / "backgrounds" / "videos" / split),
                         background_images=str(root / "backgrounds" / "images" / split))
