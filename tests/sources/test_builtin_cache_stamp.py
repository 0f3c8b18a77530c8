"""The built-in set's cache checks itself: only a set stamped by this generator is used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rvm_data.sources import builtin
from rvm_data.sources.builtin import ensure_sample_set


def _fake_generate(calls: list[Path]):
    """A stand-in for the (slow) generator: a marker file and this generator's stamp."""
    def generate(root: Path) -> None:
        calls.append(root)
        (root / "fresh").write_text("new")
        (root / builtin.DONE_FILE).write_text(json.dumps(builtin.stamp()))
    return generate


def _old_set(tmp_path: Path, done: str | None) -> Path:
    root = builtin.cache_root(tmp_path)
    root.mkdir(parents=True)
    (root / "old").write_text("old")
    if done is not None:
        (root / builtin.DONE_FILE).write_text(done)
    return root


def test_folder_name_follows_the_generator_version():
    assert builtin.NAME == f"sample-v{builtin.GENERATOR_VERSION}"
    stamp = builtin.stamp()
    assert stamp["generator_version"] == builtin.GENERATOR_VERSION and stamp["name"] == builtin.NAME
    assert json.loads(json.dumps(stamp)) == stamp  # compared as read back from the file


STALE = {
    "unfinished": lambda: None,
    "unreadable": lambda: "{not json",
    "older generator": lambda: json.dumps({**builtin.stamp(), "generator_version": builtin.GENERATOR_VERSION - 1}),
    "changed without a bump": lambda: json.dumps({**builtin.stamp(),
                                                  "videomatte_frames": builtin.VIDEOMATTE_FRAMES + 8}),
}


@pytest.mark.parametrize("why", sorted(STALE))
def test_a_stale_set_is_regenerated(tmp_path, monkeypatch, why):
    done = STALE[why]()
    root = _old_set(tmp_path, done)
    calls: list[Path] = []
    monkeypatch.setattr(builtin, "generate", _fake_generate(calls))
    assert ensure_sample_set(tmp_path) == root
    assert len(calls) == 1 and sorted(p.name for p in root.iterdir()) == ["fresh", builtin.DONE_FILE]
    assert builtin.is_current(root)
    # nothing left beside it but the lock: the stale set was moved aside and deleted
    assert sorted(p.name for p in tmp_path.iterdir()) == [f".{builtin.NAME}.lock", builtin.NAME]
    assert ensure_sample_set(tmp_path) == root and len(calls) == 1  # now current: reused


def test_a_current_set_is_reused_without_regenerating(tmp_path, monkeypatch):
    root = _old_set(tmp_path, json.dumps(builtin.stamp(), indent=2, sort_keys=True))

    def crash(root: Path) -> None:
        raise AssertionError("regenerated a current set")

    monkeypatch.setattr(builtin, "generate", crash)
    assert ensure_sample_set(tmp_path) == root
    assert sorted(p.name for p in root.iterdir()) == ["old", builtin.DONE_FILE]


def test_a_failed_regeneration_keeps_nothing_half_made(tmp_path, monkeypatch):
    root = _old_set(tmp_path, json.dumps({**builtin.stamp(), "seed": 1}))

    def crash(staging: Path) -> None:
        (staging / "half-made").write_text("x")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(builtin, "generate", crash)
    with pytest.raises(RuntimeError, match="disk on fire"):
        ensure_sample_set(tmp_path)
    assert not builtin.is_current(root)  # the stale set is still not used ...
    assert sorted(p.name for p in tmp_path.iterdir()) == [f".{builtin.NAME}.lock", builtin.NAME]  # ... no temps
