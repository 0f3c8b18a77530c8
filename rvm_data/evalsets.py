"""Evaluation sets: shards of a build as clips, and their export to RVM's frame-folder layout.

``recipes/eval_videomatte.yaml`` builds RVM's test protocol (foreground clips over held-out
background videos, "motion", and images, "static"; 512x288 and 1920x1080; no augmentation; a
fixed seed) as ordinary matting shards. :func:`export_frames` writes them as
``<out>/<split>/<output>/<key>/{com,pha,fgr,bgr}/<t:04d>.png`` (segmentation outputs: ``{img,seg}/``),
the layout RVM's evaluation scripts and ``rvm-data matte`` (``com/`` in) and ``rvm-data evaluate``
(``pha/``, ``fgr/``) use.
Clip names are the same whether the ground truth is read from the shards or from the export.

Run as ``rvm-data export-frames BUILD_DIR OUT_DIR [--split S] [--fields com pha ...]``. Clip names come
from the manifest, folder and member names, so every folder the export makes is checked to lie inside
``OUT_DIR`` before anything is written into it.
"""

from __future__ import annotations

from collections.abc import Container, Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from rvm_data.errors import RvmDataError
from rvm_data.shards import ShardError, composite, load_sample, read_manifest, scan_shard
from rvm_data.shards.layout import MANIFEST_NAME, SHARD_SUFFIX, is_shard_file, shard_output
from rvm_data.shards.manifest import confined

EXPORT_FIELDS = ("com", "pha", "fgr", "bgr")
SEG_EXPORT_FIELDS = ("img", "seg")  # a segmentation sample's folders: the image and its mask


class ExportError(RvmDataError, ValueError):
    """An export source or choice that cannot be exported (names the source)."""


class ExportWriteError(RvmDataError, OSError):
    """A frame of the export that cannot be written (names the file)."""


def shard_files(source: Path, split: str | None = None) -> list[tuple[str, Path]]:
    """(split, shard) pairs of a build folder (every split, or ``split``), a split folder or one shard."""
    if is_shard_file(source):
        if not source.is_file():
            raise ExportError(f"{source}: no such shard")
        return [("", source)]
    if (source / MANIFEST_NAME).is_file():
        manifest = read_manifest(source)
        if split is not None and split not in manifest.splits:
            raise ExportError(f"{source}: no split {split!r} (has {', '.join(sorted(manifest.splits))})")
        return [(name, source / entry.path) for name, entries in manifest.splits.items()
                if split in (None, name) for entry in entries]
    shards = sorted(source.glob(f"*{SHARD_SUFFIX}"))
    if not shards:
        raise ExportError(f"{source}: no manifest.json and no .tar shards")
    return [(source.name, p) for p in shards]


def shard_clip_name(split: str, shard: Path, key: str) -> str:
    """``<split>/<output>/<key>``. A build's outputs share a split folder and each numbers its samples
    from 0, so the output (the shard's name without ``-<number>``) is part of the name."""
    output = shard_output(shard)
    return "/".join(part for part in (split, output, key) if part)


def shard_clip_names(source: str | Path, split: str | None = None) -> list[str]:
    """The clip names of every sample, from the tar headers only (nothing is decoded)."""
    return [shard_clip_name(s, shard, ref.key) for s, shard in shard_files(Path(source), split)
            for ref in scan_shard(str(shard))]


def iter_shard_samples(
    source: str | Path,
    split: str | None = None,
    fields: Sequence[str] = ("pha", "fgr", "bgr"),
    only: Container[str] | None = None,
    segmentation: bool = False,
) -> Iterator[tuple[str, dict[str, np.ndarray]]]:
    """(clip name, {field: T x H x W x C uint8}) for every sample (or those named in ``only``), in
    shard order; only ``fields`` that the sample has are decoded (a matting sample must have ``pha``;
    with ``segmentation`` a sample with ``img`` and ``seg`` passes too)."""
    for split_name, shard in shard_files(Path(source), split):
        try:
            f = open(shard, "rb")
        except OSError as exc:
            raise ShardError(str(shard), None, f"cannot be opened ({exc.strerror or exc})") from None
        with f:
            for ref in scan_shard(str(shard)):
                name = shard_clip_name(split_name, shard, ref.key)
                if only is not None and name not in only:
                    continue
                sample = load_sample(ref, f, fields)
                if "pha" not in sample and not (segmentation and {"img", "seg"} <= set(sample)):
                    raise ShardError(
                        str(shard), ref.members[0][0], f"sample {ref.key} has no pha (not a matting sample)"
                    )
                yield name, sample


def export_frames(
    source: str | Path, out_dir: str | Path, *, split: str | None = None, fields: Sequence[str] = EXPORT_FIELDS,
    progress: bool = False,
) -> list[str]:
    """Write every sample of a build as PNG frame folders (matting: the chosen ``fields`` of
    com/pha/fgr/bgr; segmentation: those of img/seg); returns the clip names.
    ``progress``: a bar per clip when stderr is a terminal (its total read from the tar headers).

    Raises :class:`rvm_data.shards.manifest.PathEscapeError` (before writing into it) for a clip folder
    that would lie outside ``out_dir`` (a split folder named ``..``, a hostile member name).
    """
    unknown = sorted(set(fields) - set(EXPORT_FIELDS + SEG_EXPORT_FIELDS))
    if unknown:
        raise ExportError(f"unknown field(s) {', '.join(unknown)}; choose from "
                          f"{', '.join(EXPORT_FIELDS + SEG_EXPORT_FIELDS)}")
    out = Path(out_dir)
    names = []
    needed = ({"pha", "fgr", "bgr"} if "com" in fields else set(fields) - set(SEG_EXPORT_FIELDS)) | {"pha"}
    needed |= {"img", "seg"}  # a segmentation sample's; a matting sample has none, so none are read
    total = None
    if progress:
        try:
            total = len(shard_clip_names(source, split))
        except (ShardError, OSError):  # the export itself names the unreadable shard, in its own words
            pass
    samples = tqdm(iter_shard_samples(source, split, tuple(sorted(needed)), segmentation=True), desc="export",
                   unit="clip", total=total, disable=None if progress else True)
    for name, sample in samples:
        kind = EXPORT_FIELDS if "pha" in sample else SEG_EXPORT_FIELDS
        chosen = [field for field in fields if field in kind]
        if not chosen:
            raise ExportError(f"{name}: a {'matting' if 'pha' in sample else 'segmentation'} sample ("
                              f"{', '.join(kind)}); --fields {' '.join(fields)} names none of its fields")
        if "com" in chosen:
            sample["com"] = composite(sample["fgr"], sample["pha"], sample["bgr"])
        folders = {field: confined(out, out / name / field) for field in chosen}
        for field, folder in folders.items():
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ExportWriteError(exc.errno, f"cannot make {folder}: {exc.strerror or exc}") from None
            for t, frame in enumerate(sample[field]):
                pixels = frame[..., 0] if frame.shape[-1] == 1 else cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
                if not cv2.imwrite(str(folder / f"{t:04d}.png"), pixels):
                    raise ExportWriteError(f"cannot write {folder / f'{t:04d}.png'}")
        names.append(name)
    if not names:
        raise ExportError(f"{source}: no samples to export")
    return names
