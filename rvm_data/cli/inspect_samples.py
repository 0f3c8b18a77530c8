"""``rvm-data inspect DIR --samples`` / ``--spec INDEX``: a build's samples as their specs describe them.

Only the ``spec.json`` members are read, each with one seek + read at the offset the shard's member index
gives (a header scan where a shard has no index), so listing a build costs a few kilobytes per sample.
Matting specs (fgr/bgr layers) and segmentation specs (one item) are both understood.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from tqdm import tqdm

from rvm_data.shards.folder import BuildFolder
from rvm_data.shards.layout import is_spec_member, member_key
from rvm_data.shards.manifest import ShardEntry
from rvm_data.shards.members import read_index
from rvm_data.shards.reader import ShardError, scan_shard


def _chosen(root: Path, split: str | None, output: str | None) -> list[tuple[str, str, list[ShardEntry]]]:
    """(split, output, entries) of the build's groups that --split/--output select."""
    folder = BuildFolder(root)
    if split is not None and split not in folder.splits:
        raise ShardError(str(root), None, f"no split {split!r} (has {sorted(folder.splits)})")
    out = []
    for name in folder.splits:
        if split not in (None, name):
            continue
        for o in folder.outputs(name):
            if output in (None, o):
                out.append((name, o, folder.entries(name, o)))
    if not out:
        raise ShardError(str(root), None, f"no output {output!r} in {split or 'any split'}")
    return out


def _spec_members(path: str) -> list[tuple[str, int, int]]:
    """(name, offset, size) of each spec.json member of a shard: from its member index, else a scan."""
    try:
        index = read_index(path)
        if index.bytes == os.path.getsize(path):
            return [(n, off, size) for n, off, size, _ in index.members if is_spec_member(n)]
    except (ShardError, OSError):
        pass
    return [m for ref in scan_shard(path) for m in ref.members if is_spec_member(m[0])]


def _read_spec(f: BinaryIO, path: str, name: str, offset: int, size: int) -> dict[str, Any]:
    f.seek(offset)
    try:
        spec = json.loads(f.read(size))
    except ValueError as exc:
        raise ShardError(path, name, f"invalid JSON ({exc})") from None
    if not isinstance(spec, dict):
        raise ShardError(path, name, f"expected a JSON object, got {type(spec).__name__}")
    return spec


def iter_specs(root: Path, entries: list[ShardEntry],
               bar: tqdm[Any] | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """(key, spec) of every sample of these shards, in order."""
    for entry in entries:
        path = str(root / entry.path)
        members = _spec_members(path)
        with open(path, "rb") as f:
            for name, offset, size in members:
                yield member_key(name), _read_spec(f, path, name, offset, size)
        if bar is not None:
            bar.update(entry.samples)


def _mapping(value: Any) -> dict[str, Any]:
    """``value`` where it is a JSON object, else an empty one (a spec field that is missing or odd)."""
    return value if isinstance(value, dict) else {}


def _frames(frames: Any) -> str:
    if not isinstance(frames, list) or not frames:
        return "?"
    return f"frames {min(frames)}..{max(frames)}"


def _layer(name: str, layer: Any) -> tuple[str, list[str]]:
    """'fgr foregrounds/clip frames a..b' and the augmentations that fired on that layer."""
    if not isinstance(layer, dict):
        return f"{name} ?", []
    src = _mapping(layer.get("source"))
    fired = [f"{name}-hflip"] if layer.get("hflip") else []
    fired += _temporal(name, _mapping(layer.get("temporal")))
    return f"{name} {src.get('collection', '?')}/{src.get('name', '?')} {_frames(layer.get('source_frames'))}", fired


def _temporal(name: str, temporal: dict[str, Any]) -> list[str]:
    fired = []
    if temporal.get("reversed"):
        fired.append(f"{name}-reversed")
    if temporal.get("speed") not in (None, 1, 1.0):
        fired.append(f"{name}-speed {temporal['speed']:g}x")
    if temporal.get("skips"):
        fired.append(f"{name}-skips {len(temporal['skips'])}")
    if temporal.get("boundary"):
        fired.append(f"{name}-boundary {temporal['boundary']}")
    return fired


def describe(spec: dict[str, Any]) -> str:
    """One line: the sample's sources and the augmentations that fired (matting or segmentation spec)."""
    if isinstance(spec.get("item"), dict):  # segmentation
        item = spec["item"]
        parts = [f"item {item.get('name', '?')} {_frames(spec.get('source_frames'))}"]
        fired = (["hflip"] if spec.get("hflip") else []) + (["grayscale"] if spec.get("grayscale") else [])
        fired += (["affine"] if spec.get("affine") else []) + (["color"] if spec.get("color") else [])
        fired += _temporal("item", _mapping(spec.get("temporal")))
    else:
        parts, fired = [], []
        for name in ("fgr", "bgr"):
            text, layer_fired = _layer(name, spec.get(name))
            parts.append(text)
            fired += layer_fired
        fired += ["grayscale"] if spec.get("grayscale") else []
        fired += [f"pause {spec['pause']}"] if spec.get("pause") else []
        fired += [f"sharpen {spec['sharpen']:.2g}"] if isinstance(spec.get("sharpen"), (int, float)) else []
        fired += [f"motion {k}" for k in sorted(spec["motion"])] if isinstance(spec.get("motion"), dict) else []
    if spec.get("augment") is False:
        fired = ["none (augment off)"]
    line = "  ".join(parts) + f"  aug: {', '.join(fired) or 'none'}"
    meta = _mapping(spec.get("meta"))
    if meta.get("replaces"):
        gone = ", ".join(f"{r.get('collection', '?')}/{r.get('name', '?')}" for r in meta["replaces"]
                         if isinstance(r, dict))
        line += f"  replaces bad clip(s) {gone}"
    return line


def list_samples(build_dir: str | os.PathLike[str], split: str | None, output: str | None, progress: bool) -> int:
    """Print one line per sample of the chosen splits/outputs."""
    root = Path(build_dir)
    groups = _chosen(root, split, output)
    bar = tqdm(total=sum(e.samples for _, _, es in groups for e in es), unit="sample", desc="samples",
               disable=not progress, dynamic_ncols=True)
    try:
        for split_name, out, entries in groups:
            for key, spec in iter_specs(root, entries, bar):
                tqdm.write(f"{split_name}/{out} {key}  {describe(spec)}", file=sys.stdout)
    except BrokenPipeError:  # `... --samples | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        bar.close()
    return 0


def print_spec(build_dir: str | os.PathLike[str], index: int, split: str | None, output: str | None) -> int:
    """Print sample ``index``'s spec.json (indented); the split/output must be unambiguous."""
    root = Path(build_dir)
    groups = _chosen(root, split, output)
    if len(groups) > 1:
        raise ShardError(str(root), None, f"--spec {index}: pass --split/--output (one of "
                         f"{', '.join(f'{s}/{o}' for s, o, _ in groups)})")
    split_name, out, entries = groups[0]
    total = sum(e.samples for e in entries)
    if not 0 <= index < total:
        raise IndexError(f"{root}: {split_name}/{out} has {total} samples; index {index} is out of range")
    for entry in entries:
        if index < entry.samples:
            path = str(root / entry.path)
            members = _spec_members(path)
            if index >= len(members):
                raise ShardError(path, None, f"has {len(members)} specs, {entry.samples} listed (truncated?)")
            with open(path, "rb") as f:
                print(json.dumps(_read_spec(f, path, *members[index]), indent=1, sort_keys=True))
            return 0
        index -= entry.samples
    raise AssertionError("unreachable: index checked against the total")
