"""Index sources once into a small, picklable Catalog of clips (names, frame counts, sizes, locations).

Layouts read (the VideoMatte240K / RVM conventions):

- videomatte: ``<foreground>/fgr/<clip>/<frame>.jpg|png`` + ``<foreground>/pha/<clip>/<frame>.jpg|png``
  frame folders, or video files ``<foreground>/fgr/<clip>.mp4`` + ``<foreground>/pha/<clip>.mp4``.
- imagematte: ``<foreground>/fgr/<name>.<ext>`` + ``<foreground>/pha/<name>.<ext>`` stills.
- A foreground (still or frame folder) with no matte in ``pha/`` but an alpha channel of its own (RGBA,
  LA, palette with transparency) uses that channel; when a matte exists, the colour's alpha is ignored.
- background videos: ``<background_videos>/<clip>/<frame>.jpg`` frame folders or ``<clip>.mp4`` files.
- background images: every image under ``<background_images>`` (sub-folders included).

Pairing colour and matte: two frame folders pair frame by frame by file stem (the name without its
extension, so ``fgr/c/00007.jpg`` goes with ``pha/c/00007.png``), never by position; both streams
resolve index k to the same stem. A frame in one folder and not the other, or two files of one
stem in a folder, is a SourceError naming the folder and the frames (the clip is skipped under
``on_bad_clip: skip``). Where one side is a video file, names do not exist: frames pair by index,
and differing counts warn and use the shorter (as do two video files).

Only regular files are opened. An entry named like a frame, still or video that is not one (a named
pipe, socket, device, folder or broken symbolic link) is an error naming it, or under
``on_bad_clip: skip`` leaves its clip out; other entries are ignored unopened.

Only headers are read: frame counts come from folder listings or the video container, sizes from
the first frame's header, so thousands of clips index in seconds.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

from rvm_data.errors import ConfigError

from .errors import SourceError
from .imageio import is_image, natural_key, probe_image, require_regular
from .video import is_video, probe_video

StreamKind = Literal["frames", "video", "image"]
ForegroundKind = Literal["videomatte", "imagematte"]


@dataclass(frozen=True)
class SourcesConfig:
    """Where the sources are. Paths are plain strings; only the foreground is required."""

    foreground: str
    foreground_kind: ForegroundKind = "videomatte"
    background_videos: str | None = None
    background_images: str | None = None
    on_bad_clip: Literal["error", "skip"] = "error"

    def __post_init__(self) -> None:
        if not isinstance(self.foreground, str) or not self.foreground:
            raise ConfigError("sources.foreground", "must be a non-empty path string")
        if self.foreground_kind not in ("videomatte", "imagematte"):
            raise ConfigError("sources.foreground_kind",
                              f"must be 'videomatte' or 'imagematte', got {self.foreground_kind!r}")
        if self.on_bad_clip not in ("error", "skip"):
            raise ConfigError("sources.on_bad_clip", f"must be 'error' or 'skip', got {self.on_bad_clip!r}")
        for key in ("background_videos", "background_images"):
            value = getattr(self, key)
            if value is not None and (not isinstance(value, str) or not value):
                raise ConfigError(f"sources.{key}", "must be a non-empty path string or null")


@dataclass(frozen=True)
class Stream:
    """Where one stream of a clip lives: a frame folder, a video file, or a single image.

    Frame folders whose files are numbered consecutively with one padding and extension keep only
    ``pattern`` and ``first`` (so a catalog of 240k frames stays small); others list ``files``.
    """

    kind: StreamKind
    path: str
    frames: int
    height: int
    width: int
    pattern: str = ""
    first: int = 0
    files: tuple[str, ...] = ()

    def frame_path(self, index: int) -> str:
        if self.kind != "frames":
            return self.path
        name = self.files[index] if self.files else self.pattern.format(self.first + index)
        return os.path.join(self.path, name)


@dataclass(frozen=True)
class ClipInfo:
    """One clip: ``color`` (foreground or background) and, for mattes, ``alpha``.

    ``alpha`` is None for backgrounds and for foregrounds whose alpha is their own fourth channel
    (``alpha_in_color``). ``frames`` is 1 for a still image.
    """

    name: str
    frames: int
    height: int
    width: int
    color: Stream
    alpha: Stream | None = None
    alpha_in_color: bool = False


@dataclass(frozen=True)
class SkippedClip:
    """A clip left out under ``on_bad_clip: skip``: which collection, its name, the file and why."""

    collection: str
    name: str
    path: str
    reason: str


@dataclass
class Catalog:
    foregrounds: list[ClipInfo] = field(default_factory=list)
    background_videos: list[ClipInfo] = field(default_factory=list)
    background_images: list[ClipInfo] = field(default_factory=list)
    skipped: list[SkippedClip] = field(default_factory=list)


def _listdir(path: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as entries:
            return sorted((e for e in entries if not e.name.startswith(".")), key=lambda e: natural_key(e.name))
    except OSError as exc:
        raise SourceError(path, f"cannot list folder ({exc.strerror or exc})") from exc


def _require_dir(path: str, what: str) -> None:
    if not os.path.isdir(path):
        raise SourceError(path, f"{what} folder {'is not a folder' if os.path.lexists(path) else 'does not exist'}")


def _frame_names(path: str) -> list[str]:
    """The frame files of a folder in natural order; an image-named entry that is no regular file is an error."""
    names = []
    for entry in _listdir(path):
        if is_image(entry.name):
            if not entry.is_file():
                require_regular(entry.path)  # raises, saying what it is
            names.append(entry.name)
    if not names:
        raise SourceError(path, "frame folder has no images")
    return names


def _frames_stream(path: str, names: list[str]) -> Stream:
    """A frame folder's stream over ``names`` in this order: ``pattern``/``first`` when consecutive."""
    header = probe_image(os.path.join(path, names[0]))
    stems = [os.path.splitext(n) for n in names]
    ext = stems[0][1]
    width = len(stems[0][0])
    if all(s.isdigit() and len(s) == width and e == ext for s, e in stems):
        first = int(stems[0][0])
        if all(int(s) == first + i for i, (s, _) in enumerate(stems)):
            return Stream("frames", path, len(names), header.height, header.width,
                          pattern=f"{{:0{width}d}}{ext}", first=first)
    return Stream("frames", path, len(names), header.height, header.width, files=tuple(names))


def _frame_folder(path: str) -> Stream:
    return _frames_stream(path, _frame_names(path))


def _few(names: list[str], shown: int = 5) -> str:
    listed = ", ".join(names[:shown])
    return listed if len(names) <= shown else f"{listed} and {len(names) - shown} more"


def _by_stem(path: str, names: list[str]) -> dict[str, str]:
    by_stem: dict[str, str] = {}
    for name in names:
        other = by_stem.setdefault(os.path.splitext(name)[0], name)
        if other != name:
            raise SourceError(path, f"two files for frame {os.path.splitext(name)[0]!r}: {other}, {name}")
    return by_stem


def _paired_frame_folders(color_path: str, alpha_path: str) -> tuple[Stream, Stream]:
    """Colour and matte frame folders paired by stem, the matte's files in the colour's frame order."""
    color_names, alpha_names = _frame_names(color_path), _frame_names(alpha_path)
    color_stems, alpha_stems = _by_stem(color_path, color_names), _by_stem(alpha_path, alpha_names)
    unmatted = [name for stem, name in color_stems.items() if stem not in alpha_stems]
    if unmatted:
        raise SourceError(alpha_path, f"no matte for {len(unmatted)} of the {len(color_names)} frames of "
                          f"{color_path}: {_few(unmatted)}")
    orphans = [name for stem, name in alpha_stems.items() if stem not in color_stems]
    if orphans:
        raise SourceError(color_path, f"no foreground frame for {len(orphans)} of the {len(alpha_names)} mattes "
                          f"in {alpha_path}: {_few(orphans)}")
    paired = [alpha_stems[stem] for stem in color_stems]  # dicts keep the colour's (natural) order
    return _frames_stream(color_path, color_names), _frames_stream(alpha_path, paired)


def _video_file(path: str) -> Stream:
    require_regular(path)
    header = probe_video(path)
    return Stream("video", path, header.frames, header.height, header.width)


def _image_file(path: str) -> tuple[Stream, bool]:
    header = probe_image(path)
    return Stream("image", path, 1, header.height, header.width), header.has_alpha


def _clip_entries(folder: str, *, stills: bool) -> dict[str, os.DirEntry[str]]:
    """Clip name -> entry: sub-folders and video files, or image files for still sets."""
    clips: dict[str, os.DirEntry[str]] = {}
    for entry in _listdir(folder):
        # an image/video-named entry that is no regular file is kept, to fail (or be skipped) as its clip
        if stills:
            if not entry.is_dir() and is_image(entry.name):
                clips.setdefault(os.path.splitext(entry.name)[0], entry)
        elif entry.is_dir():
            clips[entry.name] = entry  # a frame folder wins over a video of the same name: cheaper to read
        elif is_video(entry.name):
            clips.setdefault(os.path.splitext(entry.name)[0], entry)
    return clips


def _stream(entry: os.DirEntry[str]) -> Stream:
    return _frame_folder(entry.path) if entry.is_dir() else _video_file(entry.path)


def _matte_clip(name: str, color_entry: os.DirEntry[str], alpha_entry: os.DirEntry[str] | None,
                stills: bool) -> ClipInfo:
    if stills:
        color, has_alpha = _image_file(color_entry.path)
        if alpha_entry is None:
            if not has_alpha:
                raise SourceError(color_entry.path, "foreground has no matte in pha/ and no alpha channel")
            return ClipInfo(name, 1, color.height, color.width, color, None, alpha_in_color=True)
        alpha, _ = _image_file(alpha_entry.path)
        return ClipInfo(name, 1, color.height, color.width, color, alpha)
    if alpha_entry is None:
        color = _stream(color_entry)
        if color.kind != "frames" or not probe_image(color.frame_path(0)).has_alpha:
            raise SourceError(color_entry.path, "foreground clip has no matte clip of the same name in pha/ "
                              "and its frames have no alpha channel")
        return ClipInfo(name, color.frames, color.height, color.width, color, None, alpha_in_color=True)
    if color_entry.is_dir() and alpha_entry.is_dir():
        color, alpha = _paired_frame_folders(color_entry.path, alpha_entry.path)
        return ClipInfo(name, color.frames, color.height, color.width, color, alpha)
    color, alpha = _stream(color_entry), _stream(alpha_entry)  # a video on one side at least: by index
    if abs(math.log((color.width / color.height) / (alpha.width / alpha.height))) > math.log(1.03):
        raise SourceError(color.path, f"is shown {color.width}x{color.height} but its matte {alpha.path} "
                                      f"{alpha.width}x{alpha.height}, another shape (a display matrix or non-square "
                                      "pixels on one side only?): the matte would be stretched onto it")
    frames = min(color.frames, alpha.frames)
    if color.frames != alpha.frames:
        warnings.warn(f"{color.path}: {color.frames} foreground frames but {alpha.frames} matte frames in "
                      f"{alpha.path}; using the first {frames}", stacklevel=4)
    return ClipInfo(name, frames, color.height, color.width, color, alpha)


def _index(collection: str, names_and_makers: Sequence[tuple[str, Callable[[], ClipInfo]]], on_bad_clip: str,
           catalog: Catalog) -> list[ClipInfo]:
    clips = []
    for name, make in names_and_makers:
        try:
            clips.append(make())
        except SourceError as exc:
            if on_bad_clip == "error":
                raise
            warnings.warn(f"skipping clip {name!r}: {exc}", stacklevel=3)
            catalog.skipped.append(SkippedClip(collection, name, exc.path, exc.problem))
    return clips


def _foregrounds(sources: SourcesConfig, catalog: Catalog) -> list[ClipInfo]:
    root = sources.foreground
    stills = sources.foreground_kind == "imagematte"
    _require_dir(root, "foreground")
    _require_dir(os.path.join(root, "fgr"), "foreground colour (fgr)")
    color = _clip_entries(os.path.join(root, "fgr"), stills=stills)
    alpha_dir = os.path.join(root, "pha")
    alpha = _clip_entries(alpha_dir, stills=stills) if os.path.isdir(alpha_dir) else {}
    if not color:
        raise SourceError(os.path.join(root, "fgr"), f"no {'images' if stills else 'clips'} found")
    makers = [(name, partial(_matte_clip, name, entry, alpha.get(name), stills)) for name, entry in color.items()]
    return _index("foregrounds", makers, sources.on_bad_clip, catalog)


def _background_videos(folder: str, sources: SourcesConfig, catalog: Catalog) -> list[ClipInfo]:
    _require_dir(folder, "background video")

    def make(name: str, entry: os.DirEntry[str]) -> ClipInfo:
        stream = _stream(entry)
        return ClipInfo(name, stream.frames, stream.height, stream.width, stream)

    entries = _clip_entries(folder, stills=False)
    if not entries:
        raise SourceError(folder, "no background video clips found")
    return _index("background_videos", [(n, partial(make, n, e)) for n, e in entries.items()],
                  sources.on_bad_clip, catalog)


def _background_images(folder: str, sources: SourcesConfig, catalog: Catalog) -> list[ClipInfo]:
    _require_dir(folder, "background image")
    paths = []
    for parent, dirs, files in os.walk(folder):
        dirs[:] = sorted((d for d in dirs if not d.startswith(".")), key=natural_key)
        paths += [os.path.join(parent, f) for f in sorted(files, key=natural_key)
                  if is_image(f) and not f.startswith(".")]
    if not paths:
        raise SourceError(folder, "no background images found")

    def make(name: str, path: str) -> ClipInfo:
        stream, _ = _image_file(path)
        return ClipInfo(name, 1, stream.height, stream.width, stream)

    names = [os.path.splitext(os.path.relpath(p, folder))[0].replace(os.sep, "/") for p in paths]
    return _index("background_images", [(n, partial(make, n, p)) for n, p in zip(names, paths, strict=True)],
                  sources.on_bad_clip, catalog)


def build_catalog(sources: SourcesConfig) -> Catalog:
    """Index every source named in ``sources``; bad clips raise or, with on_bad_clip='skip', warn."""
    catalog = Catalog()
    catalog.foregrounds = _foregrounds(sources, catalog)
    if sources.background_videos is not None:
        catalog.background_videos = _background_videos(sources.background_videos, sources, catalog)
    if sources.background_images is not None:
        catalog.background_images = _background_images(sources.background_images, sources, catalog)
    if not catalog.foregrounds:
        raise SourceError(sources.foreground, "no usable foreground clips (all were skipped)")
    return catalog
