"""Bad clips met while rendering: one error naming the file in error mode; in skip mode the sample is
replaced by a draw of its own, the same whatever the order of work or the process."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rvm_data.compose import BadClipError, ComposeConfig, plan_sample
from rvm_data.replacement import MAX_ATTEMPTS, render_replacing
from rvm_data.sources import SourcesConfig, build_catalog

sys.path.insert(0, str(Path(__file__).parents[1] / "compose"))
from engine_sources import write_sources  # noqa: E402

CONFIG = ComposeConfig(size=(32, 40), frames=4)
BAD_FRAME = 3


def _damaged_sources(root: Path):
    write_sources(root, fg_frames=8)
    second = root / "fg" / "fgr" / "clip1"
    for kind in ("fgr", "pha"):  # a second foreground clip, so a replacement has somewhere to go
        folder = root / "fg" / kind / "clip1"
        folder.mkdir(parents=True)
        for src in sorted((root / "fg" / kind / "clip0").iterdir()):
            (folder / src.name).write_bytes(src.read_bytes())
    bad = second / f"{BAD_FRAME:05d}.png"
    bad.write_bytes(bad.read_bytes()[:60])  # header intact (indexing is fine), pixels cut off
    return build_catalog(SourcesConfig(foreground=str(root / "fg"), background_videos=str(root / "bgv"),
                                       background_images=str(root / "bgi"))), bad


def _plan(catalog, index):
    return lambda attempt: plan_sample(CONFIG, catalog, seed=3, split="train", index=index, augment=True,
                                       attempt=attempt)


def _hits_bad_frame(spec) -> bool:
    return spec.fgr.source["name"] == "clip1" and BAD_FRAME in spec.fgr.source_frames


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    catalog, bad = _damaged_sources(tmp_path_factory.mktemp("damaged"))
    hit = [i for i in range(60) if _hits_bad_frame(_plan(catalog, i)(0))]
    assert len(hit) >= 3, "the fixture must make some samples read the damaged frame"
    return catalog, bad, hit


def test_error_mode_names_the_file_and_the_clip(damaged) -> None:
    catalog, bad, hit = damaged
    with pytest.raises(BadClipError) as info:
        render_replacing(_plan(catalog, hit[0]), catalog, "error")
    error = pickle.loads(pickle.dumps(info.value))  # what a loky or dask worker sends back
    assert error.path == str(bad) and (error.collection, error.name) == ("foregrounds", "clip1")
    assert str(error).startswith(f"{bad}: ")


def test_skip_mode_replaces_only_the_samples_that_meet_the_damage(damaged) -> None:
    catalog, bad, hit = damaged
    for index in range(12):
        sample, skipped = render_replacing(_plan(catalog, index), catalog, "skip")
        if index in hit:
            assert [(s.collection, s.name, s.path) for s in skipped][:1] == [("foregrounds", "clip1", str(bad))]
            assert sample["spec"]["meta"]["replaces"][0] == {"collection": "foregrounds", "name": "clip1"}
            assert not _hits_bad_frame(_plan(catalog, index)(len(skipped)))
            assert sample["spec"]["index"] == index  # same identity, same key in the shard
        else:
            assert skipped == [] and "replaces" not in sample["spec"]["meta"]
            assert sample["spec"] == _plan(catalog, index)(0).to_dict()


def _digest(catalog, indices) -> dict[int, str]:
    import hashlib

    out = {}
    for i in indices:
        sample, _ = render_replacing(_plan(catalog, i), catalog, "skip")
        out[i] = hashlib.sha256(b"".join(np.ascontiguousarray(sample[k]).tobytes()
                                         for k in ("fgr", "pha", "bgr"))).hexdigest()
    return out


def test_replacements_do_not_depend_on_order_or_process(damaged, tmp_path) -> None:
    catalog, bad, hit = damaged
    indices = hit[:3] + [i for i in range(8) if i not in hit][:2]
    forward = _digest(catalog, indices)
    backward = _digest(catalog, indices[::-1])
    assert forward == backward
    root = bad.parents[3]
    script = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
              f"from test_bad_clips import _digest, _damaged_sources; from pathlib import Path; "
              f"from rvm_data.sources import SourcesConfig, build_catalog; "
              f"c = build_catalog(SourcesConfig(foreground={str(root / 'fg')!r}, "
              f"background_videos={str(root / 'bgv')!r}, "
              f"background_images={str(root / 'bgi')!r})); print(_digest(c, {indices!r}))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert eval(out) == forward  # noqa: S307 -- our own process's dict repr


def test_a_sample_whose_every_draw_is_bad_stops_with_a_clear_error(damaged) -> None:
    catalog, bad, hit = damaged
    only_bad = type(catalog)(foregrounds=[c for c in catalog.foregrounds if c.name == "clip1"],
                             background_videos=catalog.background_videos,
                             background_images=catalog.background_images)
    config = ComposeConfig(size=(32, 40), frames=8)  # 8 of 8 frames: every draw reads the bad one
    plan = lambda attempt: plan_sample(config, only_bad, seed=3, split="train", index=0, augment=False,  # noqa: E731
                                       attempt=attempt)
    with pytest.raises(Exception) as info:
        render_replacing(plan, only_bad, "skip")
    assert f"{MAX_ATTEMPTS} draws" in str(info.value) and str(bad) in str(info.value)
