"""Recipe: one YAML file -> validated, hashed dataclasses that say what a build makes.

Validation is generic: the YAML is walked against the dataclasses' type hints (nested
dataclasses, tuples, lists, dicts, Literal, Optional/Union, int/float/str/bool), so a new field
in ComposeConfig, CodecConfig or SourcesConfig is accepted and checked without touching this
module. The dataclasses' own ``__post_init__`` range checks (probabilities, ranges, T >= 1 ...)
run as they are built; every error, theirs or ours, becomes one :class:`RecipeError` that names
the file and the key path (``outputs.lr.compose.frames``).

Paths are kept as written (``${RVM_DATA_ROOT}/VideoMatte240K_JPEG_SD/train``) and expanded only
when a build resolves its sources, so a recipe loads (and hashes) the same on every machine and
missing data is reported at build time with a message that says how to point at it.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import json
import os
import re
import reprlib
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import yaml

from rvm_data.compose import ComposeConfig
from rvm_data.errors import ConfigError, RvmDataError, did_you_mean
from rvm_data.shards.codec import VIDEO_BLOCK, CodecConfig, gib, memory_limit
from rvm_data.sources import SourcesConfig

# Optional sections owned by other parts of the package: (module, class). Imported only when a
# recipe has the section, so plain data builds never import the trainer.
OPTIONAL_SECTIONS: dict[str, tuple[str, str]] = {
    "train": ("rvm_data.train.config", "TrainConfig"),
    "segmentation": ("rvm_data.segmentation.config", "SegmentationConfig"),
}

BUILTIN_VAR = "RVM_DATA_BUILTIN"
_VAR = re.compile(r"\$\{([^}]*)\}")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class RecipeError(RvmDataError, ValueError):
    """A recipe problem, as one line naming the file and the key path."""

    def __init__(self, origin: str, key: str, message: str):
        self.origin, self.key, self.message = origin, key, message
        where = f"{origin}: {key}" if key else origin
        super().__init__(f"{where}: {message}")


class _Invalid(Exception):
    """Raised while walking the YAML; load_recipe turns it into a RecipeError with the file."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key, self.message = key, message


# ---------------------------------------------------------------------------------------------
# Generic parsing of plain YAML data into typed values
# ---------------------------------------------------------------------------------------------


def _join(key: str, child: str | int) -> str:
    if isinstance(child, int):
        return f"{key}[{child}]"
    return f"{key}.{child}" if key else child


def _describe(tp: Any) -> str:
    """A short human name for a type hint, used in 'expected ...' messages."""
    origin, args = get_origin(tp), get_args(tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return f"a mapping ({tp.__name__})"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (Union, types.UnionType):
        return " or ".join("null" if a is type(None) else _describe(a) for a in args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_describe(args[0])}"
        return f"a list of {len(args)} items ({', '.join(_describe(a) for a in args)})"
    if origin in (list, Sequence):
        return f"a list of {_describe(args[0])}" if args else "a list"
    if origin in (dict, Mapping):
        return f"a mapping of {_describe(args[1])}" if args else "a mapping"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


# Bounded repr: a 2 KB YAML alias bomb is a list of 9^9 items once expanded, so a message must never
# compute the whole value's repr before cutting it.
_REPR = reprlib.Repr()  # (keyword arguments only from Python 3.12)
_REPR.maxlevel, _REPR.maxstring, _REPR.maxlong, _REPR.maxother = 3, 60, 40, 60
_REPR.maxtuple = _REPR.maxlist = _REPR.maxarray = _REPR.maxdict = _REPR.maxset = _REPR.maxfrozenset = 6


def _show(value: Any) -> str:
    """A value for a message: at most 60 characters, computed from a bounded part of it."""
    text = _REPR.repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_value(tp: Any, value: Any, key: str = "", base: Any = None) -> Any:
    """Check ``value`` (plain YAML data) against type hint ``tp`` and build the typed value.

    ``base`` is the default a partial mapping is laid over (a field's own default instance), so
    ``bgr_affine: {range: ...}`` keeps the parent's ``bgr_affine.prob`` default.
    Raises ``_Invalid(key, message)`` naming the deepest key that is wrong.
    """
    origin, args = get_origin(tp), get_args(tp)
    if tp is Any:
        return value
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _parse_dataclass(tp, value, key, base if isinstance(base, tp) else None)
    if origin is Literal:
        if value in args and type(value) in {type(a) for a in args}:
            return value
        raise _Invalid(key, f"expected {_describe(tp)}, got {_show(value)}")
    if origin in (Union, types.UnionType):
        return _parse_union(tp, args, value, key, base)
    if origin is tuple:
        return _parse_tuple(tp, args, value, key)
    if origin in (list, Sequence) or tp is list:
        if not isinstance(value, (list, tuple)):
            raise _Invalid(key, f"expected {_describe(tp)}, got {_show(value)}")
        item = args[0] if args else Any
        return [parse_value(item, v, _join(key, i)) for i, v in enumerate(value)]
    if origin in (dict, Mapping) or tp is dict:
        if not isinstance(value, Mapping):
            raise _Invalid(key, f"expected {_describe(tp)}, got {_show(value)}")
        ktype, vtype = args if args else (Any, Any)
        return {
            parse_value(ktype, k, key): parse_value(vtype, v, _join(key, str(k)))
            for k, v in value.items()
        }
    return _parse_scalar(tp, value, key)


# YAML 1.1 (PyYAML) reads exponent numbers without a dot, such as 1e-3, as strings.
_EXPONENT_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+")


def _parse_scalar(tp: Any, value: Any, key: str) -> Any:
    if tp is float and isinstance(value, str) and _EXPONENT_NUMBER.fullmatch(value.strip()):
        return float(value)
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: isinstance(value, str),
    }
    if tp not in ok:
        raise TypeError(f"recipe field {key!r} has a type hint the loader does not know: {tp!r}")
    if not ok[tp]:
        raise _Invalid(key, f"expected {_describe(tp)}, got {_show(value)}")
    return float(value) if tp is float else value


def _parse_union(tp: Any, args: tuple[Any, ...], value: Any, key: str, base: Any) -> Any:
    if value is None and type(None) in args:
        return None
    failures = []
    for arm in (a for a in args if a is not type(None)):
        try:
            return parse_value(arm, value, key, base)
        except _Invalid as error:
            failures.append(error)
    deepest = max(failures, key=lambda e: len(e.key))
    if deepest.key != key or len(failures) == 1:
        raise deepest
    raise _Invalid(key, f"expected {_describe(tp)}, got {_show(value)}")


def _parse_tuple(tp: Any, args: tuple[Any, ...], value: Any, key: str) -> tuple[Any, ...]:
    if not isinstance(value, (list, tuple)):
        raise _Invalid(key, f"expected {_describe(tp)}, got {_show(value)}")
    if len(args) == 2 and args[1] is Ellipsis:
        items = [args[0]] * len(value)
    elif not args:
        items = [Any] * len(value)
    else:
        items = list(args)
        if len(items) != len(value):
            raise _Invalid(key, f"expected {_describe(tp)}, got {len(value)} items")
    return tuple(parse_value(t, v, _join(key, i)) for i, (t, v) in enumerate(zip(items, value, strict=True)))


def _yaml_fields(cls: type) -> dict[str, dataclasses.Field[Any]]:
    return {f.name: f for f in dataclasses.fields(cls) if f.init and f.metadata.get("yaml", True)}


def _field_default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def _parse_dataclass(cls: type, value: Any, key: str, base: Any = None) -> Any:
    if isinstance(value, cls):
        return value
    if not isinstance(value, Mapping):
        raise _Invalid(key, f"expected {_describe(cls)}, got {_show(value)}")
    fields = _yaml_fields(cls)
    for name in value:
        if name not in fields:
            raise _Invalid(_join(key, str(name)), f"unknown key{did_you_mean(str(name), fields, 'known keys')}")
    defaults = {name: getattr(base, name) if base is not None else _field_default(f) for name, f in fields.items()}
    for name, default in defaults.items():
        if default is dataclasses.MISSING and name not in value:
            raise _Invalid(_join(key, name), "missing (required)")
    hints = get_type_hints(cls)
    kwargs = {name: default for name, default in defaults.items() if default is not dataclasses.MISSING}
    kwargs.update({name: parse_value(hints[name], v, _join(key, name), defaults[name]) for name, v in value.items()})
    try:
        return cls(**kwargs)
    except ConfigError as error:  # every config validator names its key
        raise _Invalid(_under(key, error.key), error.problem) from None


def _under(key: str, sub: str) -> str:
    """A config's own key path ``sub`` below the recipe key ``key`` of that config; a leading part the key
    already ends with is not repeated (``shards.codec`` + ``codec.quality`` -> ``shards.codec.quality``)."""
    head = sub.split(".", 1)[0].split("[", 1)[0]
    if head and key.rsplit(".", 1)[-1] == head:
        sub = sub[len(head):].lstrip(".")
    return _join(key, sub) if sub else key


# ---------------------------------------------------------------------------------------------
# The recipe's own dataclasses
# ---------------------------------------------------------------------------------------------


def _check_name(what: str, name: str, key: str) -> None:
    if not _SAFE_NAME.match(name):
        raise ConfigError(key, f"{what} {name!r} must be letters, digits, '_', '.', '-' (it names files)")


@dataclass(frozen=True)
class OutputConfig:
    """One set of shards: how its samples are composed and how many each split gets."""

    compose: ComposeConfig
    samples: dict[str, int]
    augment: tuple[str, ...] = ("train",)

    def __post_init__(self) -> None:
        for split, count in self.samples.items():
            _check_name("split", split, "samples")
            if count < 0:
                raise ConfigError(f"samples.{split}", f"must be >= 0, got {count}")

    @property
    def frames(self) -> int:
        """T of its samples (as a segmentation output's ``frames``)."""
        return self.compose.frames


@dataclass(frozen=True)
class ShardsConfig:
    """How samples are packed: the codecs and how many samples one shard (= one build job) holds."""

    codec: CodecConfig = field(default_factory=CodecConfig)
    samples_per_shard: int = 64

    def __post_init__(self) -> None:
        if self.samples_per_shard < 1:
            raise ConfigError("samples_per_shard", f"must be >= 1, got {self.samples_per_shard}")


@dataclass(frozen=True)
class Recipe:
    """A validated recipe. ``hash`` identifies its content; ``origin`` is where it was read from.

    YAML shape: ``name``, ``seed``; ``sources: {split: SourcesConfig}``; ``outputs: {name: {compose:
    ComposeConfig, samples: {split: n}, augment: [splits]}}``; ``shards: {codec: CodecConfig,
    samples_per_shard}``; optional ``train:`` (TrainConfig) and ``segmentation:`` (SegmentationConfig).
    """

    name: str
    sources: dict[str, SourcesConfig] = field(default_factory=dict)
    outputs: dict[str, OutputConfig] = field(default_factory=dict)
    seed: int = 0
    shards: ShardsConfig = field(default_factory=ShardsConfig)
    train: Any = None
    segmentation: Any = None
    origin: str = field(default="<recipe>", compare=False, metadata={"yaml": False})

    def __post_init__(self) -> None:
        _check_name("name", self.name, "name")
        if not self.outputs and self.segmentation is None:
            raise ConfigError("outputs", "a recipe needs at least one output (or a segmentation: section)")
        known = ", ".join(self.sources) or "none"
        for out_name, out in self.outputs.items():
            _check_name("output name", out_name, "outputs")
            for split in [*out.samples, *out.augment]:
                if split not in self.sources:
                    raise ConfigError(f"outputs.{out_name}", f"split {split!r} has no sources (sources has: {known})")
        for out_name in self.segmentation.outputs if self.segmentation is not None else ():
            _check_name("output name", out_name, "segmentation.outputs")
            if out_name in self.outputs:
                raise ConfigError(f"segmentation.outputs.{out_name}", f"the name is taken by outputs.{out_name}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able content (what the manifest records and the hash covers)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.metadata.get("yaml", True)}
        plain: dict[str, Any] = json.loads(json.dumps(_plain(data)))
        return plain

    @functools.cached_property
    def hash(self) -> str:
        """sha256 of the canonical JSON of the validated content: defaults filled in, except settings added
        after a recipe's first builds (``omit_default`` fields), which count only once they differ from
        their default, so old recipes keep their hash and their folders. Computed once (the recipe is
        frozen)."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def splits(self) -> list[str]:
        """Every split with sources, matting first, then segmentation-only ones."""
        seg = self.segmentation.sources if self.segmentation is not None else {}
        return list(dict.fromkeys([*self.sources, *seg]))

    def all_outputs(self) -> dict[str, Any]:
        """Matting outputs (OutputConfig), then segmentation outputs (EVAL's SegOutputConfig), by name."""
        seg = self.segmentation.outputs if self.segmentation is not None else {}
        return {**self.outputs, **seg}

    def frames(self, output: str) -> int:
        """T of one output's samples, whatever its kind."""
        frames: int = self.all_outputs()[output].frames  # OutputConfig or SegOutputConfig
        return frames

    def output_seed(self, output: str, epoch: int = 0) -> int:
        """The seed plan_sample gets for one output and epoch: independent streams for lr and hr
        outputs, and for every epoch (epoch 0 is the build every recipe has always made), so sample
        ``i`` of epoch ``e`` is a pure function of (recipe, output, split, epoch, i)."""
        key = f"{self.seed}:{output}" if epoch == 0 else f"{self.seed}:{output}:epoch:{epoch}"
        digest = hashlib.sha256(key.encode()).digest()
        return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF

    def resolve_sources(self, split: str) -> SourcesConfig:
        """The split's SourcesConfig with ``${VARS}`` expanded and every named path checked."""
        config = self.sources[split]
        changes: dict[str, Any] = {
            f.name: checked_path(getattr(config, f.name), self.origin, f"sources.{split}.{f.name}")
            for f in dataclasses.fields(config)
            if isinstance(getattr(config, f.name), str)
        }
        return dataclasses.replace(config, **changes)


def checked_path(raw: str, origin: str, key: str) -> str:
    """``raw`` with ``${VARS}`` expanded; a path that used a variable must exist."""
    if "${" not in raw:
        return raw
    path = expand_vars(raw, origin, key)
    if not Path(path).exists():
        raise RecipeError(origin, key, f"{path} does not exist; {data_hint(raw)}")
    return path


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # a field marked omit_default (one added later, off by default) is content only when set
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not (f.metadata.get("omit_default") and getattr(value, f.name) == _field_default(f))}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------------
# Variables, overrides, loading
# ---------------------------------------------------------------------------------------------


def data_hint(raw_path: str) -> str:
    """What to do when a dataset path is missing: point the variable at the data or try the built-in set."""
    names = " and ".join(sorted(set(_VAR.findall(raw_path)))) or "the path"
    return (
        f"set {names} to the folder holding your datasets (this recipe reads {raw_path}; the comment at "
        "the top of the recipe shows the layout it expects), or try `rvm-data build recipes/quickstart.yaml`, "
        "which runs on the built-in sample set"
    )


def expand_vars(text: str, origin: str = "<recipe>", key: str = "") -> str:
    """Expand ``${NAME}`` from the environment; ``${RVM_DATA_BUILTIN}`` defaults to the built-in set."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in os.environ:
            return os.environ[name]
        if name == BUILTIN_VAR:
            from rvm_data.sources.builtin import ensure_sample_set

            return str(ensure_sample_set())
        raise RecipeError(origin, key, f"${{{name}}} is not set; {data_hint(text)}")

    return _VAR.sub(one, text)


# Mappings of user-chosen names (outputs, splits): ``--set`` changes entries there, never adds one.
_NAMED = {("outputs",), ("sources",), ("segmentation", "outputs")}


def apply_override(data: dict[str, Any], text: str) -> None:
    """Apply one ``key.path=value`` (value parsed as YAML) to the raw recipe data, in place."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"--set {text!r}: expected KEY.PATH=VALUE")
    parts = key.strip().split(".")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        here = ".".join(parts[: i + 1])
        if isinstance(node, list):
            node = node[_index(part, node, here, text)]
            continue
        if tuple(parts[:i]) in _NAMED and isinstance(node, dict) and node and part not in node:
            # An override inside a name the recipe does not have is a typo, not a new entry
            # (which would fail later as "<name>.samples: missing").
            names = [str(n) for n in node]
            raise ValueError(f"--set {text!r}: {'.'.join(parts[:i])} has no {part!r} (the recipe has: "
                             f"{', '.join(names)}){did_you_mean(part, names, None)}")
        child = node.setdefault(part, {})
        if child is None:
            child = node[part] = {}
        if not isinstance(child, (dict, list)):
            raise ValueError(f"--set {text!r}: {here} is {_show(child)}, not a mapping")
        node = child
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as error:
        raise ValueError(f"--set {text!r}: the value is not valid YAML ({_yaml_problem(error)})") from None
    if isinstance(node, list):
        node[_index(parts[-1], node, key, text)] = value
    else:
        node[parts[-1]] = value


def _yaml_problem(error: yaml.YAMLError) -> str:
    """PyYAML's message (several lines with context marks) as one line."""
    return " ".join(str(error).split())[:300]


def check_memory(recipe: Recipe) -> None:
    """Refuse an output whose one sample would not fit in memory to render, naming its key.

    A sample is rendered whole: T×H×W×(3+1+3) bytes of fgr, pha and bgr (T×H×W×(3+1) of img and seg), and
    the estimate doubles that for what comes with it (its encoded members; the source frames, which a matting
    sample decodes one at a time and a segmentation sample as a window). ``size: [100000, 100000]`` would ask
    for hundreds of GiB; better an error at load time than a build that swaps or is killed.
    """
    limit = memory_limit()
    matting = set(recipe.outputs)
    for name, out in recipe.all_outputs().items():
        config = out.compose if name in matting else out
        (height, width), frames = config.size, config.frames
        need = 2 * frames * height * width * (7 if name in matting else 4)
        if need > limit:
            key = f"outputs.{name}.compose" if name in matting else f"segmentation.outputs.{name}"
            raise RecipeError(recipe.origin, key, f"a sample of size [{height}, {width}] and {frames} frames needs "
                              f"about {gib(need)} to render, more than the limit of {gib(limit)} (half this "
                              "machine's RAM; set RVM_DATA_MEMORY_LIMIT_GIB to change it)")


def check_video_sizes(recipe: Recipe) -> None:
    """Refuse mp4 colour for an output whose frame size is not a multiple of 16: libx264 pads such frames
    internally and reads memory it has not set while doing so, so the same frames can encode to
    different bytes from one run to the next (seen at 36x52), breaking byte-identical builds and resume."""
    if recipe.shards.codec.color != "mp4":
        return
    matting = set(recipe.outputs)
    for name, out in recipe.all_outputs().items():
        height, width = (out.compose if name in matting else out).size
        if height % VIDEO_BLOCK or width % VIDEO_BLOCK:
            key = f"outputs.{name}.compose.size" if name in matting else f"segmentation.outputs.{name}.size"
            raise RecipeError(recipe.origin, key, f"[{height}, {width}] with shards.codec.color mp4: mp4 frames must "
                              f"be multiples of {VIDEO_BLOCK} on both sides (libx264 does not encode other sizes "
                              "reproducibly); choose such a size, or jpg, png or webp colour")


def _index(part: str, node: list[Any], here: str, text: str) -> int:
    if not part.lstrip("-").isdigit() or not -len(node) <= int(part) < len(node):
        raise ValueError(f"--set {text!r}: {here} is not an index of a list of {len(node)}")
    return int(part)


def parse_recipe(data: Any, origin: str = "<recipe>") -> Recipe:
    """Validate plain data (a loaded YAML document, or a manifest's recipe) into a Recipe."""
    if not isinstance(data, Mapping):
        raise RecipeError(origin, "", f"expected a mapping at the top level, got {_show(data)}")
    data = dict(data)
    try:
        for name, (module, cls_name) in OPTIONAL_SECTIONS.items():
            if data.get(name) is not None:
                data[name] = parse_value(getattr(importlib.import_module(module), cls_name), data[name], name)
        recipe: Recipe = parse_value(Recipe, data, "")
    except _Invalid as error:
        raise RecipeError(origin, error.key, error.message) from None
    return dataclasses.replace(recipe, origin=origin)


def load_recipe(path: str | os.PathLike[str], overrides: Sequence[str] = ()) -> Recipe:
    """Read a recipe YAML file, apply ``--set`` overrides, validate, and check a sample of each output fits in
    memory (:func:`check_memory`). Errors name file and key."""
    origin = str(path)
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise RecipeError(origin, "", f"cannot read recipe: {error.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise RecipeError(origin, "", f"not valid YAML: {_yaml_problem(error)}") from None
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise RecipeError(origin, "", f"expected a mapping at the top level, got {_show(data)}")
    for text_override in overrides:
        try:
            apply_override(data, text_override)
        except ValueError as error:
            raise RecipeError(origin, "", str(error)) from None
    recipe = parse_recipe(data, origin)
    check_memory(recipe)
    check_video_sizes(recipe)
    return recipe
