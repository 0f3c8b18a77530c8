import json
import shutil
import tarfile
from pathlib import Path

from shard_helpers import make_build
from test_shard_dataset import corrupt_member

from rvm_data.cli import main
from rvm_data.shards import CodecConfig
from rvm_data.shards.members import index_path
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
    assert problems[1].startswith(f"train/test-000001.tar: member {name}: crc32 ")
    assert problems[2].startswith(f"train/test-000001.tar: member {name}: not a")
    assert len(problems) == 3
    assert main(["inspect", str(root), "--verify"]) == 1
    out = capsys.readouterr().out
    assert f"BAD train/test-000001.tar: member {name}" in out and "verify: 3 problem(s)" in out


def flip_byte(path: Path, member_suffix: str) -> str:
    """Invert one byte in the middle of the first member ending with member_suffix; return its name."""
    with tarfile.open(path) as tar:
        info = next(m for m in tar.getmembers() if m.name.endswith(member_suffix))
    data = bytearray(path.read_bytes())
    data[info.offset_data + info.size // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return info.name


def test_verify_lists_every_problem_of_a_folder_in_one_run(tmp_path, capsys):
    root = make_build(tmp_path, [2] * 8, CodecConfig(color="jpg"))
    shard = [root / "train" / f"test-{n:06d}.tar" for n in range(8)]
    rel = [f"train/test-{n:06d}.tar" for n in range(8)]
    shard[0].unlink()
    shard[1].write_bytes(shard[1].read_bytes()[:3000])
    flipped = flip_byte(shard[2], ".fgr.0001.jpg")
    index_path(shard[3]).unlink()
    index_path(shard[4]).write_text('{"format": "rvm-data-shard-index/1", "members": [')
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["splits"]["train"][5]["samples"] = 3
    (root / "manifest.json").write_text(json.dumps(manifest))
    zeroed = corrupt_member(shard[6], ".pha.0001.png")
    shutil.copy(shard[7], root / "train" / "test-000099.tar")
    shutil.copy(index_path(shard[7]), root / "train" / "test-000050.tar.json")
    problems = verify_build(root)
    text = [str(p) for p in problems]

    def has(prefix: str, *words: str) -> bool:
        return any(t.startswith(prefix) and all(w in t for w in words) for t in text)

    assert has(f"{rel[0]}: listed in the manifest but missing")
    assert has(f"{rel[1]}: ", "bytes, manifest says") and has(f"{rel[1]}: member 000000002.", "truncated")
    assert has(f"{rel[2]}: sha256 differs") and has(f"{rel[2]}: member {flipped}: crc32", "damaged")
    assert has(f"{rel[3]}: member index test-000003.tar.json is missing")
    assert has(f"{rel[4]}: member index test-000004.tar.json is not valid JSON")
    assert has(f"{rel[5]}: 2 samples, manifest says 3")
    assert has(f"{rel[5]}: member index test-000005.tar.json was written for another shard", "(samples differ)")
    assert has(f"{rel[6]}: member {zeroed}: crc32") and has(f"{rel[6]}: member {zeroed}: not a", "png")
    assert [str(p) for p in problems if p.warning] == [
        "train/test-000099.tar: not listed in the manifest (stray shard: an interrupted build's, or copied in?); "
        "no reader uses it",
        "train/test-000050.tar.json: member index of a shard test-000050.tar that is not there"]
    assert not any(t.startswith(rel[7]) for t in text)
    assert all(p.shard in rel + ["train/test-000099.tar", "train/test-000050.tar.json"] for p in problems)
    assert main(["inspect", str(root), "--verify"]) == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert [line for line in lines if line.startswith(("BAD ", "WARN "))] == [
        f"{'WARN' if p.warning else 'BAD'} {p}" for p in problems]
    assert lines[-1].startswith(f"verify: {len(problems) - 2} problem(s), 2 warning(s)")
    assert "Errno" not in captured.out + captured.err


def test_inspect_without_verify_counts_what_it_can_read(tmp_path, capsys):
    root = make_build(tmp_path, [2, 3])
    (root / "train" / "test-000000.tar").unlink()
    assert main(["inspect", str(root)]) == 1
    captured = capsys.readouterr()
    assert "train/test: 2 shards, 5 samples" in captured.out and "fgr   png" in captured.out
    assert "1 listed shard(s) cannot be read (train/test-000000.tar)" in captured.err
    assert "Errno" not in captured.err


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
    assert capsys.readouterr().err.count("\n") == 1
