"""-M/--memlimit, as xz takes it (issue 21): sizes with xz's suffixes, N% of
RAM, 0 or max for no limit; passed to the API as memlimit= for -d, -t and
--verify; an archive beyond it is one line naming what it needs, the limit
and -M, exit status 1, nothing written."""
import io

import pytest

from shoal import api, cli, cli_args, cli_io, files
from shoal.errors import MemoryLimitError

from cli_helpers import shoal

TEXT = b"".join(b"entry %d: %s\n" % (i, b"abc" * (i % 9)) for i in range(500))
MIB = 1 << 20


@pytest.fixture
def archive(tmp_path):
    out = io.BytesIO()
    files.compress_stream(io.BytesIO(TEXT), out, 1)
    path = tmp_path / "data.txt.shoal"
    path.write_bytes(out.getvalue())
    return path


def test_parse_memlimit_forms():
    parse = cli_io.parse_memlimit
    assert parse("1048576") == MIB
    for text in ("1M", "1MiB", "1Mi", "1MB", "1m"):
        assert parse(text) == MIB
    assert parse("64K") == parse("64KiB") == parse("64kB") == 64 << 10
    assert parse("2G") == parse("2GiB") == 2 << 30
    assert parse("0") == parse("max") == parse("MAX") == 0                 # no limit
    ram = cli_io.physical_memory()
    assert parse("50%") == ram // 2 and parse("100%") == ram
    for bad in ("", "abc", "-5", "1.5G", "0%", "101%", "%", "5X"):
        with pytest.raises(ValueError):
            parse(bad)
    assert cli_args.parse_args(["-d", "-M", "800MiB", "x"]).memlimit == 800 * MIB
    assert cli_args.parse_args(["-d", "--memlimit=1G", "x"]).memlimit == 1 << 30
    assert cli_args.parse_args(["-d", "--memory", "max", "x"]).memlimit == 0
    assert cli_args.parse_args(["-d", "x"]).memlimit is None
    assert "--memlimit" in cli_args.build_parser().format_help()


def test_bad_memlimit_is_a_usage_error(capsys):
    assert cli.main(["-d", "-M", "lots", "x.shoal"]) == 1
    err = capsys.readouterr().err
    assert "invalid memory limit 'lots'" in err and "Traceback" not in err


@pytest.mark.parametrize("mode", ["-d", "-t"])
def test_archive_beyond_the_limit(archive, capsys, mode):
    assert shoal(mode, "-M", "1MiB", archive) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"shoal: {archive}: needs ")
    assert err.endswith(" MiB of memory to decode, more than the limit of 1 MiB; raise it with -M/--memlimit\n")
    assert archive.exists() and not archive.with_name("data.txt").exists()
    for enough in ("0", "max", "4G", "90%"):
        assert shoal(mode, "-k", "-f", "-M", enough, archive) == 0
    if mode == "-d":
        assert archive.with_name("data.txt").read_bytes() == TEXT


def test_verify_beyond_the_limit(tmp_path, capsys):
    sample = tmp_path / "s.txt"
    sample.write_bytes(TEXT)
    assert shoal("--verify", "-M", "1M", sample) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"shoal: {sample}: --verify needs ") and "raise it with -M/--memlimit" in err
    assert sample.exists() and list(tmp_path.iterdir()) == [sample]       # nothing written
    assert shoal("-k", "--verify", "-M", "1G", sample) == 0
    assert shoal("-k", "-f", "-M", "1K", sample) == 0                      # compressing alone: no decoding


def test_the_message_as_xz_words_it(archive, monkeypatch, capsys):
    def needs_a_lot(src, dst, **kwargs):
        raise MemoryLimitError(1234 * MIB, 1024 * MIB)
    monkeypatch.setattr(files, "decompress_stream", needs_a_lot)
    assert shoal("-d", archive) == 1
    assert capsys.readouterr().err == (f"shoal: {archive}: needs 1,234 MiB of memory to decode, more than the "
                                       "limit of 1,024 MiB; raise it with -M/--memlimit\n")
    monkeypatch.setattr(files, "decompress_stream",
                        lambda src, dst, **kwargs: (_ for _ in ()).throw(MemoryLimitError(MIB + 1, 5000)))
    assert shoal("-t", archive) == 1
    assert "needs 2 MiB of memory to decode, more than the limit of 5,000 bytes" in capsys.readouterr().err


def test_memlimit_reaches_the_api(archive, monkeypatch):
    seen = []
    real = files.decompress_stream

    def spy(src, dst, **kwargs):
        seen.append(kwargs)
        return real(src, dst, **kwargs)
    monkeypatch.setattr(files, "decompress_stream", spy)
    assert shoal("-t", archive) == 0
    assert shoal("-t", "-T", "2", "-M", "512MiB", archive) == 0
    assert shoal("-t", "-M", "0", archive) == 0
    assert "memlimit" not in seen[0]                                       # the API's default
    assert seen[1]["memlimit"] == 512 * MIB and seen[1]["threads"] == 2
    assert seen[2]["memlimit"] == api.NO_MEMLIMIT
