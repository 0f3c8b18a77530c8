"""What ``rvm-data preview`` writes for a sample: trajectory plot, frame sheet, clips, count grid.

File names are made from the recipe, output and split names (read from a recipe or a manifest), so
each is checked to lie inside the folder asked for before anything is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tqdm import tqdm

from rvm_data.shards.manifest import confined
from rvm_data.viewer.clips import write_clips
from rvm_data.viewer.frames import is_segmentation_sample
from rvm_data.viewer.interactive import Browser, display_unavailable_reason, show
from rvm_data.viewer.load import PreviewError, SampleSource, open_source
from rvm_data.viewer.plots import save_figure
from rvm_data.viewer.sheets import SheetLayout, count_grid, frame_sheet, write_png
from rvm_data.viewer.spec_view import describe, frame_captions, parse_spec, spec_figure

DEFAULT_LAYOUT = SheetLayout()  # frozen, so one shared default is safe

__all__ = ["open_source", "preview_files", "sample_stem", "show_window", "write_preview"]


def sample_stem(source: SampleSource, index: int) -> str:
    return f"{source.name}-{source.output}-{source.split}-{index:06d}"


def check_stem(out_dir: Path, stem: str) -> None:
    """PathEscapeError unless ``<out_dir>/<stem>_<suffix>`` lies inside ``out_dir``: every file of a
    preview is named so, with a suffix without separators, so the stem decides where they all go."""
    confined(out_dir, out_dir / f"{stem}_")


def write_preview(sample: dict[str, Any], out_dir: str | Path, stem: str, *, name: str = "", fps: float = 10.0,
                  clips: bool = True, layout: SheetLayout = DEFAULT_LAYOUT, dpi: int = 80) -> list[Path]:
    """``<stem>_trajectory.png``, ``<stem>_sheet.png`` and (``clips``) the three MP4s of one sample
    (a segmentation sample: the sheet and its three MP4s; its spec has no trajectories).

    Raises PathEscapeError, before writing anything, when a file would lie outside ``out_dir``.
    """
    if "spec" not in sample:
        raise PreviewError(f"sample {stem} has no 'spec': the trajectory plot and captions need it")
    out_dir = Path(out_dir)
    check_stem(out_dir, stem)
    if is_segmentation_sample(sample):  # no trajectories: one static affine per sample, shown in the title
        paths = [write_png(out_dir / f"{stem}_sheet.png", frame_sheet(
            sample, captions=seg_captions(sample["spec"], sample["img"].shape[0]),
            title=seg_title(sample["spec"], name), layout=layout))]
    else:
        spec = parse_spec(sample["spec"])
        fig = spec_figure(sample["spec"], name)
        paths = [save_figure(fig, out_dir / f"{stem}_trajectory.png", dpi=dpi)]
        sheet = frame_sheet(sample, captions=frame_captions(spec), title=describe(spec, name), layout=layout)
        paths.append(write_png(out_dir / f"{stem}_sheet.png", sheet))
    if clips:
        paths += write_clips(sample, out_dir, stem, fps=fps).values()
    return paths


def seg_captions(spec: dict[str, Any], frames: int) -> list[str]:
    """Under each column of a segmentation sheet: output frame t and the item's source frame."""
    src = spec.get("source_frames")
    if not (isinstance(src, list) and len(src) == frames):
        return [f"t{t}" for t in range(frames)]
    return [f"t{t} src{f}" for t, f in enumerate(src)]


def seg_title(spec: dict[str, Any], name: str = "") -> str:
    """One title line of a segmentation sample: which item, and the switches that fired."""
    item = spec.get("item")
    if not isinstance(item, dict):
        item = {}
    parts = [f"{name + ' ' if name else ''}{spec.get('split', '?')} #{spec.get('index', '?')}",
             f"item {item.get('name', '?')}"]
    parts += [label for key, label in (("hflip", "flipped"), ("grayscale", "grayscale")) if spec.get(key)]
    affine = spec.get("affine")
    if isinstance(affine, dict):
        parts.append("affine " + " ".join(f"{k} {v:.2f}" for k, v in sorted(affine.items())
                                          if isinstance(v, (int, float))))
    if isinstance(spec.get("color"), dict):
        parts.append("colour " + " ".join(f"{k[:3]} {v:.2f}" for k, v in sorted(spec["color"].items())
                                          if isinstance(v, (int, float))))
    if spec.get("augment") is False:
        parts.append("no augmentation")
    return "  |  ".join(parts)


def preview_files(source: SampleSource, index: int, out_dir: str | Path, *, fps: float = 10.0,
                  count: int = 0, layout: SheetLayout = DEFAULT_LAYOUT, progress: bool = False) -> list[Path]:
    """Everything for sample ``index``; with ``count`` K > 0 also the first/last-frame grid of samples
    ``index .. index+K-1`` (fewer where the split ends). ``progress``: a bar per sample read or rendered
    when stderr is a terminal."""
    indices = range(index, min(index + count, source.count)) if count > 0 else range(index, index + 1)
    bar = tqdm(total=len(indices), desc="preview", unit="sample", disable=None if progress else True)
    with bar:
        sample = source.sample(index)
        bar.update()
        paths = write_preview(sample, out_dir, sample_stem(source, index), name=source.name, fps=fps, layout=layout)
        if count <= 0:
            return paths
        grid = Path(out_dir) / f"{sample_stem(source, index)}_grid{min(count, source.count - index)}.png"
        samples = [(f"#{index}", sample)]
        for i in indices[1:]:
            samples.append((f"#{i}", source.sample(i)))
            bar.update()
        image = count_grid(samples, title=f"{source.name} {source.output} {source.split}: samples "
                                         f"{indices.start}..{indices.stop - 1}, first | last frame", layout=layout)
        paths.append(write_png(grid, image))
    return paths


def show_window(source: SampleSource, index: int) -> str | None:
    """Open the interactive window on sample ``index``; returns why not when no display exists."""
    reason = display_unavailable_reason()
    if reason is not None:
        return reason

    def caption(sample: dict[str, Any], t: int) -> str:
        if is_segmentation_sample(sample):
            return seg_captions(sample["spec"], sample["img"].shape[0])[t]
        return frame_captions(parse_spec(sample["spec"]))[t]

    show(Browser(load=source.sample, index=index, caption=caption))
    return None
