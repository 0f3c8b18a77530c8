"""The shard tests' build folder fixture."""

from __future__ import annotations

from pathlib import Path

import pytest
from shard_helpers import make_build


@pytest.fixture
def build(tmp_path: Path) -> Path:
    """Three shards of 5, 5 and 4 samples (14 in all), lossless png."""
    return make_build(tmp_path / "build", [5, 5, 4])
