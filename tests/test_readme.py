"""Every ```python block of README.md runs verbatim, from a folder holding (the first shards of) the quickstart
build."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from rvm_data.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.S | re.M)


def python_blocks() -> list[str]:
    return BLOCK.findall(README.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def readme_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working folder with ``shards/quickstart`` as the README's first command builds it, cut to the first
    shard of each output and split by ``--limit`` (the same bytes as the full build's, in a few seconds)."""
    folder = tmp_path_factory.mktemp("readme")
    build = folder / "shards" / "quickstart"
    assert main(["build", str(README.parent / "recipes" / "quickstart.yaml"), "--out", str(build),
                 "--limit", "16", "--workers", "2", "--no-progress"]) == 0
    return folder


def test_the_readme_has_its_python_blocks() -> None:
    assert len(python_blocks()) >= 3


@pytest.mark.parametrize("index", range(len(python_blocks())))
def test_python_block_runs_verbatim(index: int, readme_folder: Path) -> None:
    code = python_blocks()[index]
    done = subprocess.run([sys.executable, "-c", code], cwd=readme_folder, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, f"README python block {index + 1} failed:\n{code}\n{done.stderr[-3000:]}"
