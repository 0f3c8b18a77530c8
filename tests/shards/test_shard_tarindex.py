import io
import tarfile

import pytest

from rvm_data.shards.tarindex import BLOCK, TarFormatError, iter_members


def make_tar(path, names, fmt):
    with tarfile.open(path, "w", format=fmt) as tar:
        for i, name in enumerate(names):
            info = tarfile.TarInfo(name)
            info.size = 700 * i + 3
            tar.addfile(info, io.BytesIO(bytes([i]) * info.size))


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])
def test_members_match_tarfile_including_long_names(tmp_path, fmt):
    names = ["000000000.fgr.0000.jpg", "000000000.spec.json"]
    if fmt != tarfile.USTAR_FORMAT:
        names.append("000000001." + "x" * 150 + ".png")
    make_tar(tmp_path / "a.tar", names, fmt)
    with tarfile.open(tmp_path / "a.tar") as tar:
        expected = [(m.name, m.offset_data, m.size) for m in tar.getmembers()]
    with open(tmp_path / "a.tar", "rb") as f:
        assert list(iter_members(f)) == expected


def test_damage_is_reported_with_the_last_good_member(tmp_path):
    make_tar(tmp_path / "a.tar", ["a.x", "b.x", "c.x"], tarfile.USTAR_FORMAT)
    data = (tmp_path / "a.tar").read_bytes()
    with tarfile.open(tmp_path / "a.tar") as tar:
        second = tar.getmembers()[1]
    broken = bytearray(data)
    broken[second.offset + 10] ^= 0xFF  # the second header's name
    cases = {"checksum": bytes(broken), "truncated": data[:second.offset_data + 100],
             "end-of-archive": data[:second.offset], "after the end": data + b"junk" + bytes(BLOCK)}
    for problem, content in cases.items():
        (tmp_path / "b.tar").write_bytes(content)
        with open(tmp_path / "b.tar", "rb") as f, pytest.raises(TarFormatError) as err:
            list(iter_members(f))
        assert err.value.member == ("c.x" if problem == "after the end" else "a.x"), problem
        assert problem.split()[0] in str(err.value) or problem == "end-of-archive"


@pytest.mark.parametrize("record", [b"zz path=a.x\n", b"0 path=a.x\n", b"999 path=a.x\n", b"11 path=a.x",
                                    b"12 size=1\xff2\n", b"12 size=12x\n", b"8 nokey\n", b"\xff" * 12])
def test_a_malformed_pax_record_is_a_tar_format_error(tmp_path, record):
    """Not a ValueError, UnicodeDecodeError or an endless loop (length 0) from parsing it."""
    make_tar(tmp_path / "a.tar", ["a.x", "b.x"], tarfile.PAX_FORMAT)
    data = bytearray((tmp_path / "a.tar").read_bytes())
    with tarfile.open(tmp_path / "a.tar") as tar:
        second = tar.getmembers()[1]
    header = bytearray(BLOCK)  # a pax header for b.x
    header[:14] = b"././@PaxHeader"
    header[124:136] = b"%011o\0" % len(record)
    header[156:157] = b"x"
    header[257:263] = b"ustar\0"
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    body = record + bytes(-len(record) % BLOCK)
    broken = data[:second.offset] + header + body + data[second.offset:]
    (tmp_path / "b.tar").write_bytes(bytes(broken))
    with open(tmp_path / "b.tar", "rb") as f, pytest.raises(TarFormatError) as err:
        list(iter_members(f))
    assert err.value.member == "a.x"
