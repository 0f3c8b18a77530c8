"""Checkpoints are written whole or not at all, and read back with weights_only."""

import os

import pytest
import torch

from rvm_data.train.checkpoint import load_checkpoint, save_checkpoint
from rvm_data.train.errors import TrainError


def test_a_save_stopped_before_its_rename_keeps_the_last_checkpoint_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"step": 1, "weight": torch.ones(3)})

    def stopped(*_):
        raise KeyboardInterrupt  # Ctrl-C or SIGTERM between the write and the rename

    monkeypatch.setattr(os, "replace", stopped)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, {"step": 2, "weight": torch.zeros(3)})
    monkeypatch.undo()
    state = load_checkpoint(path)
    assert state["step"] == 1 and torch.equal(state["weight"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_a_truncated_checkpoint_is_one_error_naming_it(tmp_path):
    path = save_checkpoint(tmp_path / "last.pt", {"step": 1, "weight": torch.ones(3)})
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(TrainError, match=rf"cannot read checkpoint {path}: "):
        load_checkpoint(path)
