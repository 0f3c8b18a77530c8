"""Build folder layout and name grammar (rvm_data.shards.layout): shard paths, sample keys, member names,
temporaries; and that what the writer writes parses back through it."""

import os
from pathlib import Path

import pytest
from shard_helpers import synthetic_sample

from rvm_data.errors import RvmDataError
from rvm_data.shards import CodecConfig, encode_sample
from rvm_data.shards.layout import (
    Member,
    MemberNameError,
    ShardName,
    clip_suffix,
    frame_suffix,
    index_key,
    index_path,
    index_shard_name,
    is_spec_member,
    key_index,
    member_field,
    member_key,
    member_name,
    parse_member,
    parse_shard_path,
    scan_key,
    shard_output,
    shard_path,
    spec_member,
    temp_parts,
    temp_path,
    wids_output,
    wids_path,
    write_atomically,
)


def test_shard_paths_round_trip():
    assert shard_path("train", "lr", 3) == "train/lr-000003.tar"
    assert parse_shard_path("train/lr-000003.tar") == ShardName("train", "lr", 3)
    assert parse_shard_path("valid/seg.v2-123456.tar") == ShardName("valid", "seg.v2", 123456)
    assert ShardName("valid", "hr", 12).name == "hr-000012.tar"


@pytest.mark.parametrize("path", ["../train/lr-000000.tar", "/abs/lr-000000.tar", "train/../lr-000000.tar",
                                  "train\\lr-000000.tar", "train/lr-00000.tar", "train/lr-0000000.tar",
                                  "train/.lr-000000.tar", "train/lr-000000.tar.json", "lr-000000.tar",
                                  "train/sub/lr-000000.tar", ".hidden/lr-000000.tar", "train/-000000.tar"])
def test_other_paths_are_not_shard_paths(path):
    assert parse_shard_path(path) is None


def test_shard_output_from_any_shard_path():
    assert shard_output("train/lr-000000.tar") == "lr"
    assert shard_output(Path("/x/y/seg_image-000012.tar")) == "seg_image"
    assert shard_output("a-b-000001.tar") == "a-b"  # an output name may hold '-'
    assert shard_output("clips.tar") == "clips"  # a shard not named by a build: its name


def test_sample_keys_round_trip_and_refuse_non_indices():
    assert index_key(0) == "000000000" and index_key(123456789) == "123456789"
    assert key_index(index_key(42)) == 42
    for bad in (-1, True, 1.0, "3"):
        with pytest.raises(ValueError):
            index_key(bad)
    for key in ("12", "0000000001", "00000000x", "０００００００００"):
        assert key_index(key) is None


def test_member_grammar():
    assert spec_member("000000007") == "000000007.spec.json"
    assert member_name("000000007", frame_suffix("fgr", 12, "jpg")) == "000000007.fgr.0012.jpg"
    assert clip_suffix("pha", "mkv") == "pha.mkv"
    assert parse_member("000000007.fgr.0012.jpg") == Member("000000007", "fgr", 12, "jpg")
    assert parse_member("000000007.pha.mkv") == Member("000000007", "pha", None, "mkv")
    assert parse_member("000000007.spec.json").is_spec
    assert not parse_member("000000007.spec.0000.json").is_spec
    assert member_key("000000007.fgr.0012.jpg") == "000000007" and member_field("000000007.fgr.0012.jpg") == "fgr"
    assert is_spec_member("k.spec.json") and not is_spec_member("k.x.spec.json") and not is_spec_member("spec.json")


@pytest.mark.parametrize("name, problem", [("k..jpg", "empty part"), ("k.fgr.0.jpg.x", "unknown member"),
                                           ("k.fgr", "unknown member"), ("k.fgr.a.jpg", "unknown member"),
                                           ("k.fgr.\u00b2.png", "unknown member"),
                                           ("k.fgr.\u0663.png", "unknown member")])
def test_names_outside_the_grammar_are_refused(name, problem):
    """Non-ASCII digits (superscript two, Arabic-Indic three) too: str.isdigit takes them, but a frame number
    is ASCII digits only (int() refuses the first and would read the second as 3)."""
    with pytest.raises(MemberNameError, match=problem) as caught:
        parse_member(name)
    assert isinstance(caught.value, RvmDataError)


@pytest.mark.parametrize("name, key", [("000000001.fgr.0000.jpg", "000000001"), ("k.x", "k"), ("nodot", None),
                                       (".fgr.jpg", None), ("a/b.jpg", None), ("a\\b.jpg", None), ("a\nb.jpg", None)])
def test_scan_keys(name, key):
    assert scan_key(name) == key


@pytest.mark.parametrize("color", ["jpg", "png"])
def test_what_the_writer_writes_parses_back(color):
    members = encode_sample(synthetic_sample(12, frames=3), CodecConfig(color=color))
    parsed = [parse_member(name) for name, _ in members]
    assert {m.key for m in parsed} == {index_key(12)}
    assert [m.field for m in parsed if m.is_spec] == ["spec"]
    assert sorted((m.field, m.frame) for m in parsed if not m.is_spec) == [
        (f, t) for f in ("bgr", "fgr", "pha") for t in range(3)]


def test_temporaries_name_their_file_and_writer():
    tmp = temp_path(Path("out/train/lr-000000.tar"), pid=4242)
    assert tmp == Path("out/train/.lr-000000.tar.tmp-4242")
    assert temp_parts(tmp.name) == ("lr-000000.tar", "4242")
    assert temp_parts(tmp.name + ".json") == ("lr-000000.tar", "4242")  # the index written beside it
    assert temp_parts(".manifest.json.tmp-7") == ("manifest.json", "7")
    assert temp_parts("lr-000000.tar") is None and temp_parts(".lock") is None
    assert temp_path("x").name == f".x.tmp-{os.getpid()}"


def test_an_atomic_write_stopped_before_its_rename_keeps_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "lr.wids.json"
    write_atomically(path, "old\n")

    def stopped(*_):
        raise KeyboardInterrupt  # SIGTERM, as the build turns it, between the write and the rename

    monkeypatch.setattr(os, "replace", stopped)
    with pytest.raises(KeyboardInterrupt):
        write_atomically(path, "new\n")
    assert path.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["lr.wids.json"]


def test_index_and_wids_names():
    assert index_path("train/lr-000000.tar") == Path("train/lr-000000.tar.json")
    assert index_shard_name("lr-000000.tar.json") == "lr-000000.tar" and index_shard_name("lr.wids.json") is None
    assert wids_path("out", "valid", "lr") == Path("out/valid/lr.wids.json")
    assert wids_output("lr.wids.json") == "lr" and wids_output("lr-000000.tar.json") is None
