"""Existing shards stay byte-identical: the quickstart recipe's shards (and their member indexes) against
a stored list of sha256 hashes made from a full build.

``--limit`` builds the first whole shards of every output and split, byte for byte those of the full
build, so the test builds three shards of each (train lr, seg_image, seg_video; valid lr) on one worker
and compares them with the list; a second test checks that the list covers the full build's shards.

Regenerate the list only when a change of the shards is intended (and say so in the commit):
``python tests/build/test_quickstart_hashes.py --write`` builds the whole recipe into a temporary
folder (``--from DIR`` reads an existing complete build instead).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from pathlib import Path

from rvm_data.build import build, plan_jobs
from rvm_data.recipe import load_recipe
from rvm_data.shards import read_manifest

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "quickstart.yaml"
STORED = Path(__file__).with_name("quickstart_hashes.tsv")
SHARDS_EACH = 3  # shards built per output and split (all of valid lr and seg_video)


def file_hashes(folder: Path) -> dict[str, tuple[int, str]]:
    """(bytes, sha256) of every shard and member index under ``folder``, by relative path."""
    files = sorted([*folder.rglob("*.tar"), *folder.rglob("*.tar.json")])
    return {p.relative_to(folder).as_posix(): (p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in files}


def read_stored() -> tuple[str, dict[str, tuple[int, str]]]:
    """The recipe hash (from the header) and the rows of the stored list."""
    lines = STORED.read_text(encoding="utf-8").splitlines()
    recipe_hash = lines[0].split("recipe_hash=")[1].split()[0]
    rows = {}
    for line in lines[1:]:
        path, size, sha256 = line.split("\t")
        rows[path] = (int(size), sha256)
    return recipe_hash, rows


def shard_paths(jobs) -> set[str]:
    return {p for job in jobs for p in (job.path, job.path + ".json")}


def test_the_stored_list_covers_every_shard_of_the_full_build():
    recipe = load_recipe(RECIPE)
    recipe_hash, rows = read_stored()
    assert recipe.hash == recipe_hash, "the quickstart recipe's hash changed: an existing build would be refused"
    assert set(rows) == shard_paths(plan_jobs(recipe))


def test_a_limited_quickstart_build_has_the_stored_bytes(tmp_path):
    recipe = load_recipe(RECIPE)
    per_shard = recipe.shards.samples_per_shard
    out = tmp_path / "quickstart"
    build(recipe, out, workers=1, limit=SHARDS_EACH * per_shard, progress=False)
    _, rows = read_stored()
    got = file_hashes(out)
    wanted = shard_paths(plan_jobs(recipe, limit=SHARDS_EACH * per_shard))
    assert set(got) == wanted and len(wanted) == 2 * SHARDS_EACH * 4  # lr train + valid, seg_image, seg_video
    changed = sorted(path for path in wanted if got[path] != rows[path])
    assert not changed, f"bytes differ from the stored full build: {changed}"
    listed = {e.path: (e.bytes, e.sha256) for entries in read_manifest(out).splits.values() for e in entries}
    assert listed == {path: rows[path] for path in wanted if path.endswith(".tar")}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite {STORED.name} from a full build")
    parser.add_argument("--from", dest="source", type=Path, help="a complete build folder of the recipe to read")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if not args.write:
        parser.error("nothing to do without --write")
    recipe = load_recipe(RECIPE)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.source or Path(tmp) / "quickstart"
        if args.source is None:
            print(build(recipe, folder, workers=args.workers, progress=False).line())
        manifest = read_manifest(folder)
        if manifest.recipe_hash != recipe.hash:
            parser.error(f"{folder} holds a build of another recipe (hash {manifest.recipe_hash[:12]})")
        rows = file_hashes(folder)
        if set(rows) != shard_paths(plan_jobs(recipe)):
            parser.error(f"{folder} is not a complete build of {RECIPE.name}")
    header = (f"# recipe_hash={recipe.hash} sha256 of every shard and member index of a full build of "
              f"recipes/{RECIPE.name}; regenerate: python tests/build/{Path(__file__).name} --write")
    STORED.write_text("\n".join([header, *(f"{p}\t{size}\t{sha}" for p, (size, sha) in rows.items())]) + "\n",
                      encoding="utf-8")
    print(f"wrote {len(rows)} rows to {STORED}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
