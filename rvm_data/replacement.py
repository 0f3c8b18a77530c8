"""Bad clips met while rendering: stop at the first one (``on_bad_clip: error``) or skip it and replace
the sample (``skip``).

Indexing reads only headers, so a truncated JPEG, a video shorter than its header says or a frame that
cannot be decoded shows up only when a sample reads it. A replacement is planned with
``plan_sample(attempt=k)``, which redraws the sources from a generator of the sample's own: which clip
replaces a bad one depends on the sample's identity and on which files are bad, never on the worker
count, the order of work or an interruption in between.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from rvm_data.compose import BadClipError, SampleSpec, render_sample
from rvm_data.sources import Catalog, SourceError
from rvm_data.sources.catalog import SkippedClip

# A sample whose sources fail this many draws in a row means most of the data is bad: stop and say so.
MAX_ATTEMPTS = 16


def render_replacing(plan: Callable[[int], SampleSpec], catalog: Catalog,
                     on_bad_clip: Literal["error", "skip"]) -> tuple[dict[str, Any], list[SkippedClip]]:
    """Render ``plan(0)``; in skip mode, on a bad clip render ``plan(1)``, ``plan(2)`` ... instead.

    Returns the sample and the clips skipped on the way. A replacement's ``spec.meta["replaces"]``
    names the clips it stands in for (collection and name only, so the bytes do not depend on where
    the data lies on disk).
    """
    skipped: list[SkippedClip] = []
    for attempt in range(MAX_ATTEMPTS):
        spec = plan(attempt)
        if skipped:
            spec.meta["replaces"] = [{"collection": s.collection, "name": s.name} for s in skipped]
        try:
            return render_sample(spec, catalog), skipped
        except BadClipError as error:
            if on_bad_clip == "error":
                raise
            reason = error.problem if error.frame is None else f"frame {error.frame}: {error.problem}"
            skipped.append(SkippedClip(error.collection, error.name, error.path, reason))
    last = skipped[-1]
    raise SourceError(last.path, f"sample {spec.index} of split {spec.split!r}: {MAX_ATTEMPTS} draws of sources "
                      f"in a row met bad clips (last: {last.reason}); are most of the sources damaged?")
