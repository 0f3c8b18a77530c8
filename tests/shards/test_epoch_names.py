"""Epoch folder names have four digits: layout makes none it could not find again."""

from __future__ import annotations

import pytest

from rvm_data.shards.layout import EPOCH_LIMIT, built_epochs, epoch_root


def test_every_epoch_folder_made_is_found_again(tmp_path):
    for epoch in (1, EPOCH_LIMIT - 1):
        folder = epoch_root(tmp_path, epoch)
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_text("{}")
    assert built_epochs(tmp_path) == [1, EPOCH_LIMIT - 1]
    with pytest.raises(ValueError, match="epoch must be in 0..9999"):
        epoch_root(tmp_path, EPOCH_LIMIT)
