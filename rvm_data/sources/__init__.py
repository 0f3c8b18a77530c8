"""Matting sources: index foregrounds and backgrounds once into a Catalog, then read frames from it.

See :mod:`rvm_data.sources.catalog` for the folder layouts and :mod:`rvm_data.sources.builtin`
for the built-in sample set.
"""

from .catalog import Catalog, ClipInfo, SourcesConfig, Stream, build_catalog
from .errors import SourceError
from .readers import load_background, load_matte

__all__ = ["Catalog", "ClipInfo", "SourceError", "SourcesConfig", "Stream", "build_catalog", "load_background",
           "load_matte"]
