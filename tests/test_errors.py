"""Every project error derives from RvmDataError and survives pickling (loky and dask send them)."""

from __future__ import annotations

import pickle

import pytest

from rvm_data.build import BuildError
from rvm_data.errors import RvmDataError, _rebuild
from rvm_data.recipe import RecipeError
from rvm_data.shards.codec import CodecError
from rvm_data.shards.reader import ShardError
from rvm_data.shards.tarindex import TarFormatError
from rvm_data.sources import SourceError

CASES = [
    SourceError("/data/fgr/clip.mp4", "cannot decode video", frame=12),
    SourceError("/data/fgr/clip", "frame folder has no images"),
    RecipeError("recipes/x.yaml", "outputs.lr.compose.frames", "expected an integer"),
    BuildError("shards/x: held by another build"),
    CodecError("not a PNG"),
    ShardError("train/lr-000000.tar", "k.fgr.0000.jpg", "cannot decode"),
    TarFormatError("k.fgr.0000.jpg", "bad header checksum"),
]


@pytest.mark.parametrize("error", CASES, ids=lambda e: type(e).__name__)
def test_project_errors_pickle_with_message_and_fields(error: Exception) -> None:
    assert isinstance(error, RvmDataError)
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error)
    assert str(back) == str(error)
    assert back.__dict__ == error.__dict__


def test_source_error_names_the_frame() -> None:
    error = SourceError("/data/pha/clip.avi", "cannot decode video (EOF)", frame=7)
    assert str(error) == "/data/pha/clip.avi: frame 7: cannot decode video (EOF)"
    assert (error.path, error.frame, error.problem) == ("/data/pha/clip.avi", 7, "cannot decode video (EOF)")


def test_errors_cross_a_loky_worker() -> None:
    from joblib import Parallel, delayed

    [result] = Parallel(n_jobs=2, backend="loky")(delayed(_raise_in_worker)() for _ in range(1))
    assert result == "ok"
    with pytest.raises(SourceError) as info:
        Parallel(n_jobs=2, backend="loky")(delayed(_raise_in_worker)(True) for _ in range(2))
    assert info.value.frame == 3 and info.value.path == "/data/clip.mp4"


def _raise_in_worker(fail: bool = False) -> str:
    if fail:
        raise SourceError("/data/clip.mp4", "cannot decode", frame=3)
    return "ok"


def _all_project_errors() -> list[type[RvmDataError]]:
    import importlib
    import pkgutil

    import rvm_data

    for module in pkgutil.walk_packages(rvm_data.__path__, "rvm_data."):
        importlib.import_module(module.name)

    def below(cls: type) -> list[type]:
        return [c for sub in cls.__subclasses__() for c in (sub, *below(sub))]

    return sorted(set(below(RvmDataError)), key=lambda c: f"{c.__module__}.{c.__qualname__}")


def test_every_project_error_class_pickles_with_its_fields() -> None:
    """Every subclass, whatever built-in base it mixes in (ValueError, FileNotFoundError, OSError, ...)."""
    classes = _all_project_errors()
    assert len(classes) > 15
    for cls in classes:
        # each class takes its own arguments, so make one as unpickling does, with fields set by hand
        error = _rebuild(cls, f"{cls.__name__}: /data/x: frame 3: broken", {"path": "/data/x", "frame": 3})
        assert isinstance(error, cls.__mro__[1])
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is cls and str(back) == str(error) and back.__dict__ == error.__dict__, cls
