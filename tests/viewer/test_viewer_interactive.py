import pytest
from viewer_helpers import make_sample

from rvm_data.viewer import interactive
from rvm_data.viewer.interactive import Browser, display_unavailable_reason


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
            raise IndexError("split has 3 samples")
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


def test_show_loop_drives_the_window(monkeypatch):
    """The OpenCV calls of the loop, faked: keys n, '.', p, q; the trackbar follows the browser."""
    calls = []
    keys = iter([-1, ord("n"), ord("."), ord("p"), ord("q")])
    fake = {
        "namedWindow": lambda name, flags: calls.append(("window", name)),
        "createTrackbar": lambda bar, win, value, count, cb: calls.append(("trackbar", count)),
        "imshow": lambda win, img: calls.append(("imshow", img.shape)),
        "waitKey": lambda ms: next(keys),
        "setTrackbarMax": lambda bar, win, value: calls.append(("max", value)),
        "setTrackbarPos": lambda bar, win, value: calls.append(("pos", value)),
        "getWindowProperty": lambda win, prop: 1.0,
        "destroyWindow": lambda win: calls.append(("closed", win)),
    }
    for name, fn in fake.items():
        monkeypatch.setattr(interactive.cv2, name, fn)
    monkeypatch.setattr(interactive, "display_unavailable_reason", lambda: None)
    browser = Browser(load=lambda i: make_sample(t=2 + i, seed=i), index=0)
    interactive.show(browser)
    assert calls[0] == ("window", interactive.WINDOW) and calls[1] == ("trackbar", 1)
    assert ("max", 2) in calls and ("pos", 1) in calls  # sample 1 has 3 frames; '.' moved to frame 1
    assert calls[-1] == ("closed", interactive.WINDOW) and browser.index == 0
    assert sum(c[0] == "imshow" for c in calls) == 5
