"""What the loader does with a shard problem (an unreadable sample, a shard cut short, a sample of other
fields or size): a handler, a callable taking the :class:`~rvm_data.shards.reader.ShardError` that
decides, as WebDataset's ``handler=`` and its ``reraise_exception`` / ``warn_and_continue`` /
``ignore_and_continue`` do.

A handler raises to stop the iteration with that error, or returns to go on: the sample is then
replaced by a readable one of its batch (so every rank still makes the same batches) and counted in
``ShardDataset.skipped``/``skip_messages``; a true return also warns (once, from the worker that loads
the batch). A problem found while scanning a shard's headers is met by every DataLoader worker (each
scans the whole order), so a handler should decide, not record: the dataset does the counting. It
travels to DataLoader workers with the dataset, so under the ``spawn`` start method it must pickle (a
module-level function, not a lambda).
"""

from __future__ import annotations

from collections.abc import Callable

from rvm_data.shards.reader import ShardError

Handler = Callable[[ShardError], bool]


def reraise_exception(error: ShardError) -> bool:
    """Stop with the error (``on_error="raise"``, the default)."""
    raise error


def warn_and_continue(error: ShardError) -> bool:
    """Replace the sample, count it and warn (``on_error="skip"``)."""
    return True


def ignore_and_continue(error: ShardError) -> bool:
    """Replace the sample and count it, without a warning."""
    return False


POLICIES: dict[str, Handler] = {"raise": reraise_exception, "skip": warn_and_continue}


def error_handler(on_error: str | Handler) -> Handler:
    """The handler an ``on_error`` argument names: ``"raise"``, ``"skip"`` or a handler itself."""
    if callable(on_error):
        return on_error
    if on_error not in POLICIES:
        raise ValueError(f"on_error must be 'raise', 'skip' or a handler (a callable taking the ShardError), "
                         f"got {on_error!r}")
    return POLICIES[on_error]
