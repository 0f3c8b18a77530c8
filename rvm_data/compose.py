"""plan() and render(): turn catalogued sources into one reproducible matting sample.

``plan_sample`` draws every random choice of sample ``index`` (sources, temporal augmentation,
the A/B parameters and easing of each motion augmentation, the switches) from generators seeded
by ``(seed, split, index)`` and one name per decision, and records the outcome, frame by frame,
in a JSON-serialisable :class:`SampleSpec`. It touches no pixels. ``render_sample`` is a pure
function of that spec and the sources: the same spec gives the same bytes in any process.

Geometry is fused: per stream and frame, the static per-clip affine, the eased motion affine,
the aspect-ratio crop with the resize to the output size, the horizontal flip and the camera move
are one 2 x 3 matrix (source pixels -> output pixels), applied with one ``cv2.warpAffine``;
foreground colour and alpha share that matrix and interpolation, so they can never drift apart.
"""

from __future__ import annotations

import dataclasses
import math
import time
import zlib
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from rvm_data.augment import geometry, ops
from rvm_data.augment.affine_motion import affine_matrix
from rvm_data.augment.base import Layers, PixelOp, PlanContext, SpecError
from rvm_data.augment.config import Settings, check_choice, check_prob, join, validate_tree
from rvm_data.augment.params import AugmentConfig, crop_aspect
from rvm_data.augment.registry import REGISTRY, RENDER_ORDER, check_motion, geometry_of
from rvm_data.augment.temporal import TemporalConfig, plan_clock, plan_stream_frames
from rvm_data.errors import ConfigError, did_you_mean
from rvm_data.sources import Catalog, ClipInfo, SourceError
from rvm_data.sources.readers import iter_background_packed, iter_matte_packed

SPEC_VERSION = 1
_COLLECTIONS = ("foregrounds", "background_videos", "background_images")


class BadClipError(SourceError):
    """A source clip that failed while a sample was rendered: the file and frame (as the reader said),
    plus the clip's collection and name, so a build can skip that clip and replace the sample."""

    def __init__(self, collection: str, name: str, cause: SourceError) -> None:
        super().__init__(cause.path, cause.problem, frame=cause.frame)
        self.collection, self.name = collection, name


@dataclass(frozen=True)
class ComposeConfig(Settings):
    """How samples of one output are composed. Defaults are RVM's stage-1 training values.

    - ``size`` (H, W) and ``frames`` (T) of every sample; T = 1 makes image samples.
    - ``bgr_video_prob``: chance of a background video rather than a still (RVM: 50/50); falls
      back to whichever kind the catalog has.
    - ``fgr_sampling``: ``frames`` picks foreground clips in proportion to their length (as RVM's
      epoch over clip chunks does), ``uniform`` picks every clip equally often.
    - ``interpolation`` of the warps; ``bgr_border``: what a moved background shows at its edge.
      ``reflect`` by default, where RVM shows black corners (``constant``); the foreground is
      always transparent outside its source.
    """

    size: tuple[int, int] = (512, 512)
    frames: int = 15
    bgr_video_prob: float = 0.5
    fgr_sampling: str = "frames"
    temporal: TemporalConfig = field(default_factory=TemporalConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    interpolation: str = "linear"
    bgr_border: str = "reflect"

    def __post_init__(self) -> None:
        super().__post_init__()
        validate_tree(self, "")
        self.validate("")

    def validate(self, path: str) -> None:
        size = self.size
        if len(size) != 2 or not all(isinstance(v, int) for v in size) or min(size) < 1:
            raise ConfigError(join(path, "size"), f"must be two positive integers (height, width), got {size}")
        if not isinstance(self.frames, int) or self.frames < 1:
            raise ConfigError(join(path, "frames"), f"must be a positive integer, got {self.frames}")
        check_prob(self.bgr_video_prob, join(path, "bgr_video_prob"))
        check_choice(self.fgr_sampling, ("frames", "uniform"), join(path, "fgr_sampling"))
        check_choice(self.interpolation, ops.INTERPOLATIONS, join(path, "interpolation"))
        check_choice(self.bgr_border, ops.BORDERS, join(path, "bgr_border"))


@dataclass
class StreamSpec:
    """One stream (foreground or background) of a planned sample.

    ``source`` names the clip (collection, index and name in the catalog, its size);
    ``source_frames[t]`` is the source frame shown at output frame t; ``matrices[t]`` maps source
    pixels (of the catalogued size) to output pixels.
    """

    source: dict[str, Any]
    source_frames: list[int]
    temporal: dict[str, Any] | None
    hflip: bool
    static: dict[str, float] | None
    aspect: float
    matrices: list[list[list[float]]]


@dataclass
class SampleSpec:
    """Everything render needs, and everything a viewer plots, as plain data (``to_dict()``):

    - ``seed``, ``split``, ``index``, ``augment``; ``size`` [H, W]; ``frames`` T.
    - ``clock[t]``: the tick output frame t shows (a pause repeats a tick); ``progress[t]`` =
      ``clock[t] / clock[-1]``, the point every easing curve is evaluated at (0 -> 1).
    - ``pause``: ``{"start", "length"}`` (output frames start .. start+length-1 show one tick) or null.
    - ``fgr`` / ``bgr`` (:class:`StreamSpec`): ``source`` {collection, index, name, frames, height,
      width}; ``source_frames[t]``; ``temporal`` {speed, reversed, start, skips [[tick, frames
      dropped], ...] counted before reversal, boundary: null or the policy that had to act}, null
      for a still image; ``hflip``; ``static`` affine {angle, translate_x, translate_y, scale,
      shear_x, shear_y} or null; ``aspect`` (the crop's aspect relative to the output's, see
      ``AugmentConfig.aspect``); ``matrices[t]`` 2 x 3, source pixels (catalogued size) -> output
      pixels, everything fused. A temporal record whose speed was lowered to fit the clip has
      ``boundary: "nearest"`` (or the boundary policy that still had to act) and ``drawn_speed``.
    - ``motion``: each augmentation that fired, by name (the registry's augmentations recorded here,
      :data:`rvm_data.augment.registry.REGISTRY`: ``fgr_affine``, ``bgr_affine``, ``camera_affine``,
      ``fgr_color``, ``bgr_color``, ``noise``, ``fgr_blur``, ``bgr_blur``, ``both_blur``,
      ``motion_blur``) -> its record, checked against its augmentation by :meth:`from_dict`. Eased
      ones are ``{"easing", "a", "b", "values"}``; ``values`` holds a per-frame list per parameter,
      the values render uses: the eased way from A to B, overshoot included, cut only where it would
      leave a parameter's physical domain (see ``rvm_data.augment.params``) (affine: as ``static``,
      translations as fractions of the image size; colour: brightness, contrast, saturation factors,
      hue in turns, plus ``drift``, the fraction of the way to the drawn B that ``b`` reaches; noise:
      grain, strength (foreground, and background too unless ``bgr_strength`` is there), plus
      ``monochrome`` and ``seed``; blur: sigma, plus ``kernel``). ``motion_blur``: ``shutter``,
      ``samples`` and per-frame ``length`` (output pixels the blur is long).
    - ``grayscale``; ``sharpen``: factor or null; ``interpolation``; ``bgr_border``;
      ``meta``: free-form (e.g. the recipe hash, set by the builder); ``version``.
    """

    seed: int
    split: str
    index: int
    augment: bool
    size: list[int]
    frames: int
    clock: list[int]
    progress: list[float]
    pause: dict[str, int] | None
    fgr: StreamSpec
    bgr: StreamSpec
    motion: dict[str, dict[str, Any]]
    grayscale: bool
    sharpen: float | None
    interpolation: str
    bgr_border: str
    meta: dict[str, Any] = field(default_factory=dict)
    version: int = SPEC_VERSION

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SampleSpec:
        """The spec of a ``to_dict()`` form (a shard's JSON), every key and every augmentation's record
        checked: a misspelt augmentation is a :class:`SpecError` naming it, the sample and the nearest
        known name, never a sample rendered without it."""
        where = f"sample spec (split {d.get('split')!r}, index {d.get('index')!r})"
        if d.get("version") != SPEC_VERSION:
            raise SpecError(where, "version", f"{d.get('version')!r} is not {SPEC_VERSION}")
        check_keys(d, cls, where)
        streams = {}
        for name in ("fgr", "bgr"):
            check_keys(d[name], StreamSpec, f"{where}.{name}")
            streams[name] = StreamSpec(**d[name])
        check_motion(d["motion"], d["frames"], where)
        spec = cls(**{**d, **streams})
        for aug in REGISTRY.values():
            if aug.field != "motion":
                aug.check(aug.read(spec), spec.frames, where)
        return spec


def check_keys(d: dict[str, Any], cls: type, where: str) -> None:
    """Refuse a spec dict with a key the dataclass ``cls`` lacks (naming the nearest one) or without one
    it requires."""
    names = {f.name for f in dataclasses.fields(cls)}
    required = {f.name for f in dataclasses.fields(cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    if unknown := sorted(set(d) - names):
        raise SpecError(where, "", f"unknown key {unknown[0]!r}{did_you_mean(str(unknown[0]), sorted(names), None)}")
    if missing := sorted(required - set(d)):
        raise SpecError(where, "", f"missing key {missing[0]!r}")


# ----------------------------------------------------------------------------------------- plan


def decision_rng(seed: int, split: str, index: int, decision: str) -> np.random.Generator:
    """The generator of one decision of one sample: independent of every other decision, so
    changing one setting never reshuffles the others."""
    entropy = [int(seed), zlib.crc32(split.encode()), int(index), zlib.crc32(decision.encode())]
    return np.random.default_rng(np.random.SeedSequence(entropy))


def _source(collection: str, index: int, clip: ClipInfo) -> dict[str, Any]:
    return {"collection": collection, "index": index, "name": clip.name, "frames": clip.frames,
            "height": clip.height, "width": clip.width}


def _pick_sources(cfg: ComposeConfig, catalog: Catalog,
                  rng: np.random.Generator) -> tuple[dict[str, Any], dict[str, Any]]:
    fgs = catalog.foregrounds
    if not fgs:
        raise ValueError("catalog has no foreground clips")
    if cfg.fgr_sampling == "frames":  # like RVM's epoch over clip chunks: long clips more often
        weights = np.array([c.frames for c in fgs], dtype=np.float64)
        i = int(np.searchsorted(np.cumsum(weights), rng.random() * weights.sum(), side="right"))
        i = min(i, len(fgs) - 1)
    else:
        i = int(rng.integers(len(fgs)))
    videos, images = catalog.background_videos, catalog.background_images
    if not videos and not images:
        raise ValueError("catalog has no background videos or images")
    use_video = bool(videos) and (not images or rng.random() < cfg.bgr_video_prob)
    collection = "background_videos" if use_video else "background_images"
    pool = videos if use_video else images
    j = int(rng.integers(len(pool)))
    return _source("foregrounds", i, fgs[i]), _source(collection, j, pool[j])


def _stream_matrices(cfg: ComposeConfig, source: dict[str, Any], static: dict[str, float] | None, aspect: float,
                     stream: str, drawn: dict[str, Any]) -> list[np.ndarray]:
    """A stream's per-frame 3 x 3 matrices: the framing (static affine, aspect crop, resize), then the
    geometry drawn so far, output-space matrices to its left and source-space ones to its right, each
    in registry order (a geometry augmentation that did not fire gives its neutral matrix)."""
    height, width = source["height"], source["width"]
    out_h, out_w = cfg.size
    x0, y0, ch, cw = geometry.center_crop((height, width), aspect * out_w / out_h)
    framing = geometry.resize((ch, cw), (out_h, out_w), offset=(x0, y0))
    fixed = geometry.matmul(framing, affine_matrix(static, height, width))
    T = cfg.frames
    outer = [a.matrices(drawn.get(a.name), stream, T, out_h, out_w) for a in geometry_of(stream, "output")]
    inner = [a.matrices(drawn.get(a.name), stream, T, height, width) for a in geometry_of(stream, "source")]
    mats = np.repeat(fixed[None], T, axis=0)  # all frames at once: the same operations as frame by frame
    for steps, left in [(steps, True) for steps in outer] + [(steps, False) for steps in inner]:
        fired = [t for t, m in enumerate(steps) if m is not None]
        if fired:
            moves = np.stack([m for m in steps if m is not None])
            mats[fired] = geometry.matmul(moves, mats[fired]) if left else geometry.matmul(mats[fired], moves)
    return list(mats)


def plan_sample(config: ComposeConfig, catalog: Catalog, *, seed: int, split: str, index: int,
                augment: bool, attempt: int = 0) -> SampleSpec:
    """Plan sample ``index`` of ``split``: pure, cheap, no pixels. ``augment=False`` (validation)
    turns off motion, flips, colour, noise, blur, sharpening and temporal augmentation; the sources,
    start frames and (with ``augment.valid_framing``, as RVM) the static affine and aspect crop are
    drawn, from the sample's own generators as in training.

    ``attempt`` > 0 plans the replacement of a sample whose sources failed to render: the sources
    are drawn again from a generator of their own (``sources.attempt<k>``), every other decision
    as before, so the replacement is a function of the sample's identity and the attempt alone."""
    if index < 0 or seed < 0 or attempt < 0:
        raise ValueError(f"seed, index and attempt must be >= 0, got seed={seed}, index={index}, attempt={attempt}")

    def rng(decision: str) -> np.random.Generator:
        return decision_rng(seed, split, index, decision)

    cfg, aug, T = config, config.augment, config.frames
    fgr_src, bgr_src = _pick_sources(cfg, catalog, rng("sources" if attempt == 0 else f"sources.attempt{attempt}"))

    clock, pause = plan_clock(rng("pause"), T, cfg.temporal.pause_prob if augment else 0.0)
    ticks = clock[-1] + 1
    progress = np.asarray(clock, dtype=np.float64) / max(clock[-1], 1)
    streams_time = {}
    for name, src in (("fgr", fgr_src), ("bgr", bgr_src)):
        per_tick, record = plan_stream_frames(rng(f"{name}.time"), cfg.temporal, ticks, src["frames"], augment)
        streams_time[name] = ([per_tick[c] for c in clock], record)

    static_rng = rng("static")
    framed = augment or aug.valid_framing
    framing = {}
    for name, src in (("fgr", fgr_src), ("bgr", bgr_src)):
        static = getattr(aug, f"{name}_static").draw(static_rng) if framed and aug.static_affine else None
        lo, hi = aug.aspect_ratio
        # drawn in both modes, so the choice of mode never moves the background's static affine
        jitter = math.exp(static_rng.uniform(math.log(lo), math.log(hi))) if framed else 1.0
        aspect = crop_aspect(aug.aspect, aug.aspect_ratio, (src["height"], src["width"]), cfg.size,
                             jitter) if framed else 1.0
        framing[name] = (src, static, aspect)

    # every augmentation in registry order, each from its decision's generator (one per decision)
    drawn: dict[str, Any] = {}
    ctx = PlanContext(cfg, clock, progress, {"fgr": fgr_src, "bgr": bgr_src}, drawn,
                      lambda stream: _stream_matrices(cfg, *framing[stream], stream, drawn))
    generators: dict[str, np.random.Generator] = {}
    for name, augmentation in REGISTRY.items():
        if not augment or not augmentation.can_fire(aug):
            drawn[name] = augmentation.off()
            continue
        if augmentation.decision not in generators:
            generators[augmentation.decision] = rng(augmentation.decision)
        drawn[name] = augmentation.draw(generators[augmentation.decision], ctx)

    streams = {}
    for name in ("fgr", "bgr"):
        src, static, aspect = framing[name]
        matrices = [[[float(v) for v in row] for row in m[:2]] for m in ctx.matrices(name)]
        frames, record = streams_time[name]
        streams[name] = StreamSpec(source=src, source_frames=frames, temporal=record, hflip=drawn["hflip"][name],
                                   static=static, aspect=aspect, matrices=matrices)

    fired = {k: _plain(v) for k, v in drawn.items() if REGISTRY[k].field == "motion" and v is not None}
    return SampleSpec(
        seed=int(seed), split=split, index=int(index), augment=bool(augment), size=list(cfg.size), frames=T,
        clock=clock, progress=[float(p) for p in progress], pause=pause, fgr=streams["fgr"], bgr=streams["bgr"],
        motion=fired, grayscale=drawn["grayscale"], sharpen=drawn["sharpen"], interpolation=cfg.interpolation,
        bgr_border=cfg.bgr_border,
    )


def _plain(value: Any) -> Any:
    """numpy arrays and scalars -> lists and Python numbers, for JSON."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [float(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


# --------------------------------------------------------------------------------------- render


def _clip(catalog: Catalog, source: dict[str, Any]) -> ClipInfo:
    collection, index, name = source["collection"], source["index"], source["name"]
    if collection not in _COLLECTIONS:
        raise ValueError(f"spec names unknown collection {collection!r}")
    pool = getattr(catalog, collection)
    if not 0 <= index < len(pool) or pool[index].name != name:
        raise ValueError(f"catalog has no {collection} clip {name!r} at index {index}; "
                         "was the spec planned against another catalog?")
    clip: ClipInfo = pool[index]
    return clip


def _fit_matrices(matrices: np.ndarray, source_hw: tuple[int, int], decoded_hw: tuple[int, int]) -> np.ndarray:
    """Matrices from the catalogued source size to the size the reader actually decoded."""
    to_source = geometry.resize(decoded_hw, source_hw)
    full = np.concatenate([matrices, np.tile([[[0.0, 0.0, 1.0]]], (len(matrices), 1, 1))], axis=1)
    return np.ascontiguousarray(geometry.matmul(full, to_source)[:, :2])


class _Stopwatch:
    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings
        self.last = time.perf_counter()

    def lap(self, phase: str) -> None:
        if self.timings is not None:
            now = time.perf_counter()
            self.timings[phase] = self.timings.get(phase, 0.0) + now - self.last
            self.last = now


def _render_stream(stream: StreamSpec, catalog: Catalog, watch: _Stopwatch, color: np.ndarray,
                   alpha: np.ndarray | None, *, interpolation: str, border: str, scratch: np.ndarray) -> None:
    """One stream's output frames: each distinct source frame decoded (RGB, and alpha for the foreground,
    side by side in the warp's RGBA layout) and at once warped into every output frame that shows it."""
    clip = _clip(catalog, stream.source)
    matrices = np.asarray(stream.matrices, dtype=np.float64)
    source_hw = stream.source["height"], stream.source["width"]
    read = iter_matte_packed if alpha is not None else iter_background_packed
    fitted: np.ndarray | None = None
    try:
        for outputs, packed in read(clip, stream.source_frames,
                                    min_size=geometry.min_decode_size(matrices, *source_hw)):
            watch.lap("decode")
            if fitted is None:
                fitted = _fit_matrices(matrices, source_hw, packed.shape[:2])
            ops.warp_frame(packed, outputs, fitted, color, alpha, interpolation=interpolation, border=border,
                           scratch=scratch)
            watch.lap("warp")
    except SourceError as error:
        raise BadClipError(stream.source["collection"], clip.name, error) from error


def render_sample(spec: SampleSpec | dict[str, Any], catalog: Catalog, *,
                  timings: dict[str, float] | None = None) -> dict[str, Any]:
    """Pixels of a planned sample: ``fgr`` T×H×W×3, ``pha`` T×H×W×1, ``bgr`` T×H×W×3 (uint8, RGB).

    ``spec`` may also be its ``to_dict()`` form (e.g. read back from a shard's JSON).
    ``timings``, when given, accumulates seconds spent in "decode", "warp" and "pixel_ops".
    """
    if isinstance(spec, dict):
        spec = SampleSpec.from_dict(spec)
    watch = _Stopwatch(timings)
    (height, width), T = spec.size, spec.frames
    fgr = np.empty((T, height, width, 3), np.uint8)
    pha = np.empty((T, height, width, 1), np.uint8)
    bgr = np.empty((T, height, width, 3), np.uint8)

    scratch = np.empty((height, width, 4), np.uint8)
    # colour and alpha warped together: outside the source both are 0 (transparent)
    _render_stream(spec.fgr, catalog, watch, fgr, pha, interpolation=spec.interpolation, border="constant",
                   scratch=scratch)
    _render_stream(spec.bgr, catalog, watch, bgr, None, interpolation=spec.interpolation, border=spec.bgr_border,
                   scratch=scratch)

    stacks = {"fgr": fgr, "pha": pha, "bgr": bgr}
    for name in RENDER_ORDER:  # each pixel op gets writable arrays of its own targets only
        op = cast(PixelOp, REGISTRY[name])  # RENDER_ORDER names pixel ops (test_augment_registry checks)
        op.apply(spec, Layers(stacks, op.targets))
    watch.lap("pixel_ops")
    return {"fgr": fgr, "pha": pha, "bgr": bgr, "spec": spec.to_dict()}
