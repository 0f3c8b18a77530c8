import av
import numpy as np
from viewer_helpers import make_sample

from rvm_data.viewer.clips import write_clips, write_video


def _read(path):
    with av.open(str(path)) as c:
        rate = c.streams.video[0].average_rate
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)]), rate


def test_clips_frame_count_size_fps(tmp_path):
    sample = make_sample(t=4, h=32, w=48)
    paths = write_clips(sample, tmp_path, "s0", fps=6)
    assert sorted(paths) == ["alpha", "composite", "side"]
    want = {"composite": (32, 48), "alpha": (32, 48), "side": (32, 4 * 48)}
    for kind, path in paths.items():
        assert path.name == f"s0_{kind}.mp4" and path.stat().st_size > 0
        frames, rate = _read(path)
        assert frames.shape == (4, *want[kind], 3)
        assert rate == 6


def test_video_pads_odd_sizes_and_keeps_content(tmp_path):
    frames = np.zeros((2, 31, 45, 3), np.uint8)
    frames[:, :, :20] = (200, 40, 40)
    back, rate = _read(write_video(tmp_path / "odd.mp4", frames, fps=12.5))
    assert back.shape == (2, 32, 46, 3) and rate == 12.5
    assert np.abs(back[:, 4:28, 2:16].astype(int) - frames[:, 4:28, 2:16]).mean() < 6
