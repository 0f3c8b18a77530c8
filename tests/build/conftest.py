"""Session fixtures of the build tests: the tiny recipe on disk and its reference build."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from build_helpers import tiny_recipe_data, write_tiny_sources

from rvm_data.build import build
from rvm_data.recipe import load_recipe


@pytest.fixture(scope="session")
def tiny_recipe_path(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny_sources")
    write_tiny_sources(root)
    path = root / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_recipe_data(root), sort_keys=False))
    return path


@pytest.fixture(scope="session")
def reference_build(tiny_recipe_path, tmp_path_factory) -> Path:
    """The tiny recipe built once, serially and uninterrupted: what every other way must equal."""
    out = tmp_path_factory.mktemp("reference") / "out"
    build(load_recipe(tiny_recipe_path), out, progress=False)
    return out
