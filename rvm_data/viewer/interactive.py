"""``--show``: an OpenCV window to scrub frames (trackbar) and step through samples (n/p, q quits).

Only where a display exists: opencv-python-headless (this project's dependency) is built without
highgui, so the window is opt-in for people who installed a GUI build of OpenCV."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from rvm_data.viewer.frames import fit_height, sample_rows, text_strip

WINDOW = "rvm-data preview"
VIEW_HEIGHT = 320
STATUS_HEIGHT = 24


def opencv_gui_backend() -> str:
    """The GUI backend OpenCV was built with ("NONE" for opencv-python-headless), from its build info."""
    for line in cv2.getBuildInformation().splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "GUI":
            return value.strip() or "NONE"
    return "NONE"


def display_unavailable_reason() -> str | None:
    """None when a window can open, else a plain sentence saying why not."""
    backend = opencv_gui_backend()
    if backend.upper() == "NONE":
        return ("OpenCV here has no GUI support (opencv-python-headless is built without highgui); "
                "install opencv-python instead of opencv-python-headless to use --show")
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display: neither DISPLAY nor WAYLAND_DISPLAY is set"
    return None


@dataclass
class Browser:
    """Window state: which sample and frame are shown; key handling kept apart from OpenCV to test it.

    ``load(index)`` returns the matting Sample ``index`` and raises IndexError/KeyError/ValueError
    when there is none; ``caption(sample, t)`` gives the status line's per-frame text."""

    load: Callable[[int], dict[str, Any]]
    index: int
    caption: Callable[[dict[str, Any], int], str] = lambda sample, t: ""
    frame: int = 0
    message: str = ""
    sample: dict[str, Any] = field(init=False)
    rows: dict[str, np.ndarray] = field(init=False)

    def __post_init__(self) -> None:
        self._open(self.index)

    def _open(self, index: int) -> None:
        self.sample = self.load(index)
        self.rows = sample_rows(self.sample)
        self.index, self.frame = index, 0

    @property
    def frames(self) -> int:
        frames: int = next(iter(self.rows.values())).shape[0]
        return frames

    def seek(self, t: int) -> None:
        self.frame = min(max(int(t), 0), self.frames - 1)

    def handle_key(self, key: int) -> bool:
        """Apply one key press; False means quit. n/p: next/previous sample, ←/→ ','/'.': frame."""
        char = chr(key & 0xFF) if key >= 0 else ""
        if char in ("q", "\x1b"):
            return False
        if char in ("n", "p"):
            target = self.index + (1 if char == "n" else -1)
            try:
                if target < 0:
                    raise IndexError("no sample before index 0")
                self._open(target)
                self.message = ""
            except (IndexError, KeyError, ValueError) as err:
                self.message = f"sample {target}: {err}"
        elif char == ".":
            self.seek(self.frame + 1)
        elif char == ",":
            self.seek(self.frame - 1)
        return True

    def view(self) -> np.ndarray:
        """fgr | pha | bgr | composite of the current frame with a status line, RGB."""
        t = self.frame
        strip = np.concatenate([fit_height(rows[t], VIEW_HEIGHT) for rows in self.rows.values()], axis=1)
        text = self.message or (f"sample {self.index}  t={t}/{self.frames - 1}  {self.caption(self.sample, t)}"
                                "   n/p sample  ,/. frame  q quit")
        return np.concatenate([strip, text_strip(text, strip.shape[1], STATUS_HEIGHT, align="left")], axis=0)


def show(browser: Browser) -> None:
    """Run the window until q/Esc or the window is closed. Raises RuntimeError when no display exists."""
    reason = display_unavailable_reason()
    if reason is not None:
        raise RuntimeError(reason)
    cv2.namedWindow(WINDOW, cv2.WINDOW_AUTOSIZE)
    cv2.createTrackbar("frame", WINDOW, 0, max(browser.frames - 1, 1), browser.seek)
    try:
        while True:
            cv2.imshow(WINDOW, cv2.cvtColor(browser.view(), cv2.COLOR_RGB2BGR))
            key = cv2.waitKey(40)
            if key != -1:
                shown = browser.index
                if not browser.handle_key(key):
                    break
                if browser.index != shown:
                    cv2.setTrackbarMax("frame", WINDOW, max(browser.frames - 1, 1))
                cv2.setTrackbarPos("frame", WINDOW, browser.frame)
            if cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1:
                break
    finally:
        cv2.destroyWindow(WINDOW)
