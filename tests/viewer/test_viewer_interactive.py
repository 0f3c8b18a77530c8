import pytest

from rvm_data.viewer import interactive
from rvm_data.viewer.interactive import Browser, display_unavailable_reason

from viewer_helpers import make_sample


def test_headless_build_is_reported(monkeypatch):
    monkeypatch.setattr(interactive, "opencv_gui_backend", lambda: "NONE")
    assert "opencv-python-headless" in display_unavailable_reason()
    with pytest.raises(RuntimeError, match="headless"):
        interactive.show(Browser(load=lambda i: make_sample(), index=0))


def test_no_display_is_reported(monkeypatch):
    monkeypatch.setattr(interactive, "opencv_gui_backend", lambda: "GTK3")
    monkeypatch.setattr(interactive.sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert "DISPLAY" in display_unavailable_reason()
    monkeypatch.setenv("DISPLAY", ":0")
    assert display_unavailable_reason() is None


def test_browser_keys():
    def load(i):
        if i > 2:
            raise IndexError(f"split has 3 samples")
        return make_sample(t=3, seed=i)

    b = Browser(load=load, index=1)
    assert b.frames == 3 and b.view().shape[1] == 4 * round(48 * interactive.VIEW_HEIGHT / 32)
    assert b.handle_key(ord(".")) and b.frame == 1
    b.seek(99)
    assert b.frame == 2
    assert b.handle_key(ord("n")) and (b.index, b.frame) == (2, 0)
    assert b.handle_key(ord("n")) and b.index == 2 and "3 samples" in b.message
    assert b.handle_key(ord("p")) and b.index == 1 and b.message == ""
    assert b.handle_key(ord("p")) and b.handle_key(ord("p")) and b.index == 0
    assert not b.handle_key(ord("q"))
