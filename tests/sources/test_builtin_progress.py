"""The first build generates the built-in set; its bar counts every frame and still written."""

from __future__ import annotations

from pathlib import Path

from rvm_data.sources import builtin


def test_generation_bar_counts_every_file(tmp_path: Path, capsys) -> None:
    builtin.generate(tmp_path / "set", ("valid",), progress=True)
    written = sum(1 for f in (tmp_path / "set").rglob("*") if f.suffix in (".jpg", ".png"))
    fgr_pha_pairs = builtin.VIDEOMATTE["valid"] * builtin.VIDEOMATTE_FRAMES + builtin.IMAGEMATTE["valid"]
    assert builtin.frame_count(("valid",)) == written - fgr_pha_pairs  # a foreground and its alpha: one step
    assert f"{builtin.frame_count(('valid',))}/{builtin.frame_count(('valid',))}" in capsys.readouterr().err


def test_generation_is_quiet_when_asked(tmp_path: Path, capsys) -> None:
    builtin.generate(tmp_path / "set", ("valid",), progress=False)
    assert capsys.readouterr().err == ""
