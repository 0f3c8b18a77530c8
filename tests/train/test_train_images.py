"""Training pictures name their rows: a header strip with a label above each row."""

from __future__ import annotations

import cv2
import pytest
import torch

from rvm_data.train.runlog import LABEL_HEIGHT, MATTING_LABELS, RunLog, image_grid


def test_each_row_gets_a_header_strip_with_its_label_and_the_pixels_stay(tmp_path):
    rows = [torch.full((2, 3, 16, 20), 0.5), torch.ones(2, 1, 16, 20), torch.zeros(2, 1, 16, 20),
            torch.full((2, 3, 16, 20), 0.25)]
    log = RunLog(tmp_path, tensorboard=False)
    path = log.image("train", 7, rows, labels=MATTING_LABELS)
    log.close()
    grid = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    assert grid.shape == (4 * (LABEL_HEIGHT + 16), 40, 3)
    for k, value in enumerate((128, 255, 0, 64)):
        top = k * (LABEL_HEIGHT + 16)
        strip, row = grid[top:top + LABEL_HEIGHT], grid[top + LABEL_HEIGHT:top + LABEL_HEIGHT + 16]
        assert strip.max() > 100 and (strip == 0).mean() > 0.5  # white text on black
        assert (row == value).all()
    unlabelled = image_grid(rows, 4)
    assert unlabelled.shape == (64, 40, 3) and (unlabelled[16:32] == 255).all()


def test_labels_must_match_the_rows():
    with pytest.raises(ValueError, match="2 labels for 1 image rows"):
        image_grid([torch.zeros(1, 1, 4, 4)], 1, ["a", "b"])
