"""on_error handlers (rvm_data.shards.handlers): the named policies, and a handler deciding in ShardDataset."""

import warnings

import pytest

from rvm_data.shards import ShardDataset, ShardError
from rvm_data.shards.handlers import error_handler, ignore_and_continue, reraise_exception, warn_and_continue


def truncated(build):
    """The second shard cut in half: its later samples cannot be scanned."""
    shard = build / "train" / "test-000001.tar"
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    return build


def test_named_policies():
    assert error_handler("raise") is reraise_exception and error_handler("skip") is warn_and_continue
    assert error_handler(ignore_and_continue) is ignore_and_continue
    with pytest.raises(ValueError, match="on_error must be 'raise', 'skip' or a handler"):
        error_handler("ignore")
    error = ShardError("s.tar", None, "bad")
    with pytest.raises(ShardError, match="bad"):
        reraise_exception(error)
    assert warn_and_continue(error) is True and ignore_and_continue(error) is False


def run(build, on_error):
    ds = ShardDataset(build, batch_size=2, shuffle=False, with_spec=True, on_error=on_error)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batches = list(ds)
    return ds, batches, [w for w in caught if issubclass(w.category, RuntimeWarning)]


def test_warn_and_ignore_both_skip_and_count_only_warn_warns(build):
    truncated(build)
    warned, batches, warnings_seen = run(build, warn_and_continue)
    quiet, quiet_batches, quiet_seen = run(build, ignore_and_continue)
    assert len(batches) == len(quiet_batches) == 7 and warned.skipped == quiet.skipped >= 1
    assert warned.skip_messages == quiet.skip_messages and all("test-000001.tar" in m for m in quiet.skip_messages)
    assert len(warnings_seen) == warned.skipped and quiet_seen == []
    assert [b["spec"] for b in batches] == [b["spec"] for b in quiet_batches]


def test_a_handler_of_ones_own_decides_per_error(build):
    truncated(build)
    seen = []

    def only_truncation(error: ShardError) -> bool:
        seen.append(error.shard)
        if "truncated" not in error.problem:
            raise error
        return False

    ds, batches, caught = run(build, only_truncation)
    assert len(batches) == 7 and ds.skipped >= 1 and caught == []
    assert seen and all(s.endswith("test-000001.tar") for s in seen)

    def never(error: ShardError) -> bool:
        raise RuntimeError(f"stop at {error.member}")

    with pytest.raises(RuntimeError, match="stop at 000000007"):
        list(ShardDataset(build, batch_size=2, shuffle=False, on_error=never))


def test_the_default_raises(build):
    truncated(build)
    with pytest.raises(ShardError, match="test-000001.tar"):
        list(ShardDataset(build, batch_size=2, shuffle=False))
