"""rvm-data: video-matting training data made ahead of time, and the network that learns from it."""

__version__ = "0.3.0"
