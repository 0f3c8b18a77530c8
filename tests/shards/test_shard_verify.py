import json

from shard_helpers import make_build
from test_shard_dataset import corrupt_member
from rvm_data.cli import main
from rvm_data.shards import CodecConfig
from rvm_data.shards.verify import inspect_build, verify_build


def test_inspect_reports_counts_codecs_and_bytes_per_frame(tmp_path, capsys):
    root = make_build(tmp_path, [3, 2], CodecConfig(color="jpg"), frames=3)
    manifest, stats = inspect_build(root)
    train = stats["train/test"]
    assert (train.shards, train.samples, train.shape) == (2, 5, (3, 16, 24))
    assert {k: v.codec for k, v in train.fields.items()} == {"bgr": "jpg", "fgr": "jpg", "pha": "png"}
    assert train.fields["fgr"].frames == 15
    assert main(["inspect", str(root)]) == 0
    out = capsys.readouterr().out
    assert "train/test: 2 shards, 5 samples" in out and "fgr   jpg" in out and "/frame" in out


def test_verify_names_the_bad_member_and_checksum(tmp_path, capsys):
    root = make_build(tmp_path, [3, 2])
    assert verify_build(root) == []
    assert main(["inspect", str(root), "--verify"]) == 0
    name = corrupt_member(root / "train" / "test-000001.tar", ".pha.0000.png")
    problems = [str(p) for p in verify_build(root)]
    assert problems[0] == "train/test-000001.tar: sha256 differs from the manifest"
    assert problems[1].startswith(f"train/test-000001.tar: member {name}: not a decodable png image")
    assert len(problems) == 2
    assert main(["inspect", str(root), "--verify"]) == 1
    out = capsys.readouterr().out
    assert f"BAD train/test-000001.tar: member {name}" in out and "verify: 2 problem(s)" in out


def test_verify_reports_missing_and_truncated_shards(tmp_path):
    root = make_build(tmp_path, [3, 2, 2])
    (root / "train" / "test-000002.tar").unlink()
    shard = root / "train" / "test-000000.tar"
    shard.write_bytes(shard.read_bytes()[:5000])
    problems = [str(p) for p in verify_build(root)]
    assert "train/test-000002.tar: listed in the manifest but missing" in problems
    assert any(p.startswith("train/test-000000.tar: member 000000000.") and "truncated" in p for p in problems)


def test_inspect_bad_folder_exits_2(tmp_path, capsys):
    assert main(["inspect", str(tmp_path)]) == 2
    assert "no manifest" in capsys.readouterr().err
    (tmp_path / "manifest.json").write_text(json.dumps({"splits": {}}))
    assert main(["inspect", str(tmp_path)]) == 2
