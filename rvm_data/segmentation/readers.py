"""Person-segmentation sets indexed into a small, picklable SegCatalog, and read frame by frame.

Every item (an image or a video) reads as ``img`` N x h x w x 3 uint8 RGB and ``seg``
N x H x W bool (the mask at the item's full size, so it can be resampled once, without
blending, straight to the output). Images may be decoded reduced (JPEG DCT scaling) when the
output is small; ``seg`` never is.

- COCO panoptic: the panoptic PNG holds segment ids as ``R + 256 G + 256^2 B``; the JSON lists each
  image's segments with their category. Only images with a person segment are items (as in RVM).
- Supervisely Person: an image folder and a mask folder with the same file stems; a pixel is person
  where the mask is above half its range (0/1 and 0/255 masks both work).
- YouTubeVIS: videos as lists of frame files and, per annotation, one RLE mask per frame (or null);
  the JSON is indexed once per process, the catalog keeps only paths and ids.
- builtin: foregrounds of the built-in sample set composited over its backgrounds, mask
  ``alpha > threshold``; one item per (foreground, background) pair.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from rvm_data.segmentation.config import SegSourceConfig
from rvm_data.segmentation.rle import decode_rle
from rvm_data.sources import ClipInfo, SourceError, SourcesConfig, build_catalog, load_background, load_matte
from rvm_data.sources.imageio import is_image, probe_image, read_color, read_mask, reduction_for, require_regular

MinSize = tuple[int, int] | None
Indices = Sequence[int] | np.ndarray
"""Source frame indices, as the readers in rvm_data.sources take them."""


def _read_images(paths: Sequence[str], height: int, width: int, min_size: MinSize) -> np.ndarray:
    reduction = reduction_for(height, width, min_size)
    frames = [read_color(p, reduction) for p in paths]
    for p, f in zip(paths, frames, strict=True):  # the catalogued size (from the JSON) places the mask on the image
        if abs(f.shape[0] * reduction - height) >= reduction or abs(f.shape[1] * reduction - width) >= reduction:
            raise SourceError(p, f"image is {f.shape[1] * reduction}x{f.shape[0] * reduction}, "
                                 f"the annotations say {width}x{height}")
    return np.stack(frames)


def _read_mask(path: str, color: bool, what: str, height: int, width: int) -> np.ndarray:
    """A mask file at full size, which must be the image's catalogued ``height`` x ``width``."""
    try:
        mask = read_mask(path, color=color)  # a regular file only: a named pipe would block the read
    except SourceError as exc:
        raise SourceError(path, f"cannot read {what} ({exc.problem})") from exc
    if mask.shape[:2] != (height, width):
        raise SourceError(path, f"is {mask.shape[1]}x{mask.shape[0]}, the image {width}x{height}")
    return mask


def _load_json(path: str) -> Any:
    require_regular(path)  # opening a named pipe would block until a writer comes
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as exc:
        raise SourceError(path, f"cannot read annotations ({exc.strerror or exc})") from exc
    except json.JSONDecodeError as exc:
        raise SourceError(path, f"not valid JSON ({exc})") from exc


def _person_ids(data: dict[str, Any], categories: tuple[int, ...], path: str) -> frozenset[int]:
    if categories:
        return frozenset(categories)
    ids = [c["id"] for c in data.get("categories", []) if c.get("name") == "person"]
    if not ids:
        raise SourceError(path, "no category named 'person'; list the person category ids in 'categories'")
    return frozenset(ids)


# ---------------------------------------------------------------- items


@dataclass(frozen=True)
class CocoPanopticItem:
    """One image and the ids of its person segments in the panoptic PNG."""

    name: str
    height: int
    width: int
    image: str
    panoptic: str
    segment_ids: tuple[int, ...]
    frames: int = 1

    def load(self, indices: Indices, min_size: MinSize = None) -> tuple[np.ndarray, np.ndarray]:
        img = _read_images([self.image], self.height, self.width, min_size)
        png = _read_mask(self.panoptic, True, "panoptic PNG", self.height, self.width)
        b, g, r = (png[..., i].astype(np.int32) for i in range(3))
        seg = np.isin(r + 256 * g + 65536 * b, self.segment_ids)
        return _repeat(img, seg, indices)


@dataclass(frozen=True)
class SuperviselyItem:
    """One image and its person mask file."""

    name: str
    height: int
    width: int
    image: str
    mask: str
    frames: int = 1

    def load(self, indices: Indices, min_size: MinSize = None) -> tuple[np.ndarray, np.ndarray]:
        img = _read_images([self.image], self.height, self.width, min_size)
        raw = _read_mask(self.mask, False, "mask", self.height, self.width)
        if raw.ndim == 3:  # a colour mask: any non-black pixel is person
            raw = raw[..., :3].max(axis=2)
        top = int(raw.max())
        seg = raw > (0 if top <= 1 else np.iinfo(raw.dtype).max // 2)
        return _repeat(img, seg, indices)


@dataclass(frozen=True)
class YouTubeVISItem:
    """One video: its frame files and where its person RLEs are (read lazily from the JSON)."""

    name: str
    height: int
    width: int
    files: tuple[str, ...]
    annotations: str
    video_id: int
    categories: tuple[int, ...]
    frames: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "frames", len(self.files))

    def load(self, indices: Indices, min_size: MinSize = None) -> tuple[np.ndarray, np.ndarray]:
        idx = [int(i) for i in indices]
        img = _read_images([self.files[i] for i in idx], self.height, self.width, min_size)
        per_frame = _youtubevis_index(self.annotations, self.categories)[0][self.video_id]
        seg = np.zeros((len(idx), self.height, self.width), dtype=bool)
        for k, i in enumerate(idx):
            for rle in per_frame[i]:
                mask = decode_rle(rle)
                if mask.shape != seg.shape[1:]:
                    raise SourceError(self.annotations, f"video {self.video_id} frame {i}: RLE is {mask.shape}, "
                                      f"the video {self.height}x{self.width}")
                seg[k] |= mask
        return img, seg


@dataclass(frozen=True)
class BuiltinItem:
    """A matting foreground over a background; the mask is the thresholded alpha."""

    name: str
    foreground: ClipInfo
    background: ClipInfo
    threshold: int

    @property
    def height(self) -> int:
        return self.foreground.height

    @property
    def width(self) -> int:
        return self.foreground.width

    @property
    def frames(self) -> int:
        return self.foreground.frames

    def load(self, indices: Indices, min_size: MinSize = None) -> tuple[np.ndarray, np.ndarray]:
        """Full size always (the sample set is small); ``min_size`` is accepted for a common signature."""
        fgr, pha = load_matte(self.foreground, indices)
        # the background plays along frame by frame, wrapping round a shorter clip
        bgr = load_background(self.background, np.asarray(indices) % self.background.frames)
        h, w = fgr.shape[1:3]
        bgr = np.stack([cv2.resize(b, (w, h), interpolation=cv2.INTER_AREA) for b in bgr])
        a = pha.astype(np.float32) / 255.0
        img = (fgr * a + bgr * (1.0 - a) + 0.5).astype(np.uint8)
        return img, pha[..., 0] > self.threshold


SegItem = CocoPanopticItem | SuperviselyItem | YouTubeVISItem | BuiltinItem


def _repeat(img: np.ndarray, seg: np.ndarray, indices: Indices) -> tuple[np.ndarray, np.ndarray]:
    """A still as N frames (every index of a still image is frame 0)."""
    n = len(indices)
    if any(int(i) != 0 for i in indices):
        raise ValueError(f"a still image has only frame 0, asked for {list(indices)}")
    return np.repeat(img, n, axis=0), np.repeat(seg[None], n, axis=0)


@dataclass
class SegCatalog:
    """All items of a split's segmentation sources, in a fixed order."""

    items: list[SegItem]

    def __len__(self) -> int:
        return len(self.items)


# ---------------------------------------------------------------- indexing


def _require(path: str | None, what: str) -> str:
    assert path is not None
    if not os.path.exists(path):
        raise SourceError(path, f"{what} does not exist")
    return path


def _coco_items(cfg: SegSourceConfig) -> list[SegItem]:
    images, masks = _require(cfg.images, "image folder"), _require(cfg.masks, "panoptic PNG folder")
    annfile = _require(cfg.annotations, "panoptic annotations")
    data = _load_json(annfile)
    masked = _person_ids(data, cfg.categories, annfile)
    person = cfg.categories[0] if cfg.categories else min(masked)
    image_info = {im["id"]: im for im in data.get("images", [])}
    items: list[SegItem] = []
    for ann in data.get("annotations", []):
        segments = ann.get("segments_info", [])
        if not any(s.get("category_id") == person for s in segments):
            continue  # as RVM: images with a person; their mask also covers the other listed categories
        ids = tuple(int(s["id"]) for s in segments if s.get("category_id") in masked)
        info = image_info.get(ann.get("image_id"), {})
        file_name = info.get("file_name") or Path(ann["file_name"]).with_suffix(".jpg").name
        image = os.path.join(images, file_name)
        if "height" in info and "width" in info:
            height, width = int(info["height"]), int(info["width"])
        else:
            header = probe_image(image)
            height, width = header.height, header.width
        name = f"coco/{Path(file_name).stem}"
        items.append(CocoPanopticItem(name, height, width, image, os.path.join(masks, ann["file_name"]), ids))
    return items


def _image_names(folder: str) -> dict[str, str]:
    """Stem -> file name of a folder's images, sorted; an image-named entry that is no regular file
    (named pipe, socket, device, broken link) is an error naming it, never opened."""
    try:
        with os.scandir(folder) as scan:
            entries = sorted((e for e in scan if is_image(e.name)), key=lambda e: e.name)
    except OSError as exc:
        raise SourceError(folder, f"cannot list folder ({exc.strerror or exc})") from exc
    for entry in entries:
        if not entry.is_file():
            require_regular(entry.path)
    return {Path(e.name).stem: e.name for e in entries}


def _supervisely_items(cfg: SegSourceConfig) -> list[SegItem]:
    images, masks = _require(cfg.images, "image folder"), _require(cfg.masks, "mask folder")
    image_files, mask_files = _image_names(images), _image_names(masks)
    unpaired = sorted(set(image_files) ^ set(mask_files))
    if unpaired:
        raise SourceError(images if unpaired[0] in image_files else masks,
                          f"{len(unpaired)} file(s) without a partner in the other folder, e.g. {unpaired[0]!r}")
    items: list[SegItem] = []
    for stem in sorted(image_files):
        image = os.path.join(images, image_files[stem])
        header = probe_image(image)
        items.append(SuperviselyItem(f"spd/{stem}", header.height, header.width, image,
                                     os.path.join(masks, mask_files[stem])))
    return items


@lru_cache(maxsize=2)
def _youtubevis_index(
    annfile: str, categories: tuple[int, ...]
) -> tuple[dict[int, list[list[dict[str, Any]]]], list[dict[str, Any]]]:
    """video id -> per frame, the person RLEs of that frame; and the videos (read once per process)."""
    data = _load_json(annfile)
    person = _person_ids(data, categories, annfile)
    masks: dict[int, list[list[dict[str, Any]]]] = {}
    for ann in data.get("annotations", []):
        if ann.get("category_id") not in person:
            continue
        segs = ann.get("segmentations") or []
        frames = masks.setdefault(int(ann["video_id"]), [[] for _ in segs])
        if len(frames) != len(segs):
            raise SourceError(annfile,
                              f"video {ann['video_id']}: annotations with {len(frames)} and {len(segs)} frames")
        for frame, rle in zip(frames, segs, strict=True):
            if rle is not None:
                frame.append(rle)
    return masks, data.get("videos", [])


def _youtubevis_items(cfg: SegSourceConfig) -> list[SegItem]:
    images = _require(cfg.images, "frame folder")
    annfile = _require(cfg.annotations, "YouTubeVIS annotations")
    with_person, videos = _youtubevis_index(annfile, tuple(cfg.categories))
    items: list[SegItem] = []
    for video in videos:
        vid = int(video["id"])
        if vid not in with_person:
            continue
        files = tuple(os.path.join(images, f) for f in video["file_names"])
        if len(files) != len(with_person[vid]):
            raise SourceError(annfile, f"video {vid} has {len(files)} frames but {len(with_person[vid])} masks")
        name = f"youtubevis/{Path(video['file_names'][0]).parent.as_posix() or vid}"
        items.append(YouTubeVISItem(name, int(video["height"]), int(video["width"]), files, annfile, vid,
                                    tuple(cfg.categories)))
    return items


def _builtin_items(cfg: SegSourceConfig) -> list[SegItem]:
    if cfg.root:
        root = Path(_require(cfg.root, "sample set folder"))
    else:
        from rvm_data.sources.builtin import ensure_sample_set

        root = ensure_sample_set()
    background = "videos" if cfg.foreground_kind == "videomatte" else "images"
    background_folder: dict[str, Any] = {f"background_{background}": str(root / "backgrounds" / background / cfg.split)}
    sources = SourcesConfig(
        foreground=str(root / cfg.foreground_kind / cfg.split),
        foreground_kind=cfg.foreground_kind,
        **background_folder,
    )
    catalog = build_catalog(sources)
    backgrounds = catalog.background_videos if background == "videos" else catalog.background_images
    if not catalog.foregrounds or not backgrounds:
        raise SourceError(str(root), f"the {cfg.split} split has no {cfg.foreground_kind} foregrounds or {background}")
    return [
        BuiltinItem(f"builtin/{cfg.foreground_kind}/{fg.name}+{bg.name}", fg, bg, cfg.threshold)
        for fg in catalog.foregrounds
        for bg in backgrounds
    ]


_INDEXERS = {
    "coco_panoptic": _coco_items,
    "supervisely": _supervisely_items,
    "youtubevis": _youtubevis_items,
    "builtin": _builtin_items,
}


def _index(cfg: SegSourceConfig) -> list[SegItem]:
    """One source's items; annotations that lack a key or hold the wrong kind of value are
    reported against their file, not as a bare KeyError."""
    try:
        return _INDEXERS[cfg.kind](cfg)
    except (KeyError, TypeError) as exc:
        if cfg.annotations is None:
            raise
        what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise SourceError(cfg.annotations, f"malformed {cfg.kind} annotations ({what})") from exc


def build_seg_catalog(sources: Sequence[SegSourceConfig]) -> SegCatalog:
    """Index every source once; items keep the sources' order and each source's sorted order."""
    items: list[SegItem] = []
    for cfg in sources:
        found = _index(cfg)
        if not found:
            where = cfg.annotations or cfg.images or cfg.root or "the built-in sample set"
            raise SourceError(where, f"{cfg.kind} source has no person images or videos")
        items.extend(found)
    names = [item.name for item in items]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ValueError(f"two segmentation items are both named {dup!r}; use distinct sources")
    return SegCatalog(items)
