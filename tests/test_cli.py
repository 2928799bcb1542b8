"""The shoal command line: xz-like behaviour, exit codes and the safety rules.

Most tests call cli.main(argv) in-process (fast); a few run `python -m shoal`
in a subprocess for real exit codes and stdin/stdout.  Inputs are small and
use -1 so the file stays well under two minutes on a 2-core machine.
"""
import errno
import io
import os
import signal
import subprocess
import sys
import time

import pytest

from shoal import api, atomic, cli, cli_args, command, files
from shoal.errors import ShoalError

from cli_helpers import default_signals, shell_status, shoal, writing_into

TEXT = b"".join(b"line %d: the quick brown fox jumps over the lazy dog %d\n" % (i, i * i)
                for i in range(400))


def leftovers(directory):
    """Temporary files a failed run might have left behind."""
    return [p.name for p in directory.iterdir() if "shoal-tmp" in p.name]


@pytest.fixture
def sample(tmp_path):
    path = tmp_path / "sample.txt"
    path.write_bytes(TEXT)
    os.chmod(path, 0o640)
    os.utime(path, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    return path


@pytest.fixture
def archive(tmp_path):
    path = tmp_path / "packed.txt.shoal"
    path.write_bytes(api_compress(TEXT))
    return path


def api_compress(data, **kwargs):
    out = io.BytesIO()
    files.compress_stream(io.BytesIO(data), out, 1, **kwargs)
    return out.getvalue()


def run_module(*args, **kwargs):
    kwargs.setdefault("stdout", subprocess.PIPE)
    return subprocess.run([sys.executable, "-m", "shoal", *map(str, args)],
                          stderr=subprocess.PIPE, timeout=120, **kwargs)


# -- round trips and the file flags ----------------------------------------

def test_round_trip_removes_input_and_keeps_mode_and_mtime(sample):
    packed = sample.with_name("sample.txt.shoal")
    assert shoal(sample) == 0
    assert packed.exists() and not sample.exists()
    assert oct(packed.stat().st_mode & 0o777) == oct(0o640)
    assert packed.stat().st_mtime_ns == 1_600_000_000_000_000_000
    assert shoal("-d", packed) == 0
    assert sample.read_bytes() == TEXT and not packed.exists()
    assert oct(sample.stat().st_mode & 0o777) == oct(0o640)
    assert leftovers(sample.parent) == []


def test_command_words_and_combined_flags(sample):
    assert cli.main(["compress", "-1k", str(sample)]) == 0
    assert sample.exists()
    sample.unlink()
    assert cli.main(["decompress", "-k", str(sample) + ".shoal"]) == 0
    assert sample.read_bytes() == TEXT
    assert cli.main(["test", str(sample) + ".shoal"]) == 0


def test_keep(sample):
    assert shoal("-k", sample) == 0
    assert sample.exists() and sample.with_name("sample.txt.shoal").exists()


def test_stdout_keeps_input(sample, capsysbinary):
    assert shoal("-c", sample) == 0
    out = capsysbinary.readouterr().out
    assert sample.exists() and not sample.with_name("sample.txt.shoal").exists()
    sink = io.BytesIO()
    files.decompress_stream(io.BytesIO(out), sink)
    assert sink.getvalue() == TEXT


def test_output_option_keeps_input(sample, tmp_path):
    target = tmp_path / "elsewhere.bin"
    assert shoal("-o", target, sample) == 0
    assert sample.exists()
    assert shoal("-d", "-o", tmp_path / "back.txt", target) == 0
    assert (tmp_path / "back.txt").read_bytes() == TEXT
    assert shoal("-o", target, sample, sample) == 1          # -o takes one input


def test_refuses_to_overwrite_without_force(sample, capsys):
    packed = sample.with_name("sample.txt.shoal")
    packed.write_bytes(b"precious")
    assert shoal(sample) == 1
    assert f"{packed}: file exists; use -f to overwrite" in capsys.readouterr().err
    assert packed.read_bytes() == b"precious" and sample.exists()
    assert shoal("-f", sample) == 0
    assert packed.read_bytes() != b"precious" and not sample.exists()


def test_force_refuses_same_file_as_output(sample):
    assert shoal("-f", "-o", sample, sample) == 1
    assert sample.read_bytes() == TEXT


def test_verify(sample, capsys):
    assert shoal("--verify", "-v", sample) == 0
    assert "verified" in capsys.readouterr().err
    assert not sample.exists()


def test_verify_to_stdout_spools_then_writes(sample, capsysbinary):
    assert shoal("--verify", "-c", sample) == 0
    sink = io.BytesIO()
    files.decompress_stream(io.BytesIO(capsysbinary.readouterr().out), sink)
    assert sink.getvalue() == TEXT and sample.exists()


def test_failed_verification_keeps_input_and_leaves_no_output(sample, monkeypatch, capsys):
    def decodes_wrongly(src, dst, **kwargs):
        dst.write(b"not the input")
        return 1, 13
    monkeypatch.setattr(files, "decompress_stream", decodes_wrongly)
    assert shoal("--verify", sample) == 1
    assert "verification failed" in capsys.readouterr().err
    assert sample.exists() and not sample.with_name("sample.txt.shoal").exists()
    assert leftovers(sample.parent) == []


def test_threads_give_identical_output(tmp_path, monkeypatch):
    data = bytes(range(256)) * 400 + TEXT * 20             # ~300 KB, several 64 KiB blocks
    (tmp_path / "big").write_bytes(data)
    assert shoal("-k", "-B", "64K", "-T", "1", "-o", tmp_path / "t1", tmp_path / "big") == 0
    assert shoal("-k", "-B", "64KiB", "-T2", "-o", tmp_path / "t2", tmp_path / "big") == 0
    assert shoal("-k", "-B", "64K", "-T0", "-o", tmp_path / "t0", tmp_path / "big") == 0
    assert shoal("-k", "-B", "64K", "-T3", "-M", "1", "-o", tmp_path / "m", tmp_path / "big") == 0  # one at a time
    seen = []
    real = files.compress_stream
    monkeypatch.setattr(files, "compress_stream", lambda *a, **k: seen.append(k) or real(*a, **k))
    assert shoal("-k", "-B", "64K", "-o", tmp_path / "default", tmp_path / "big") == 0   # no -T: one per core
    assert seen[0]["threads"] == cli_args.cores() and "memlimit" not in seen[0]
    for name in ("t2", "t0", "m", "default"):
        assert (tmp_path / "t1").read_bytes() == (tmp_path / name).read_bytes(), name
    assert shoal("-d", "-T", "2", "-o", tmp_path / "back", tmp_path / "t1") == 0
    assert (tmp_path / "back").read_bytes() == data
    assert shoal("-d", "-o", tmp_path / "back0", tmp_path / "t1") == 0
    assert (tmp_path / "back0").read_bytes() == data


def test_ray_needs_its_extra(tmp_path):
    """--ray without Ray installed: a clear error, before any file is touched
    (in a fresh process, where import ray fails as if it were not installed)."""
    (tmp_path / "f").write_bytes(TEXT)
    code = ("import sys; sys.modules['ray'] = None\n"
            "from shoal.cli import main\n"
            f"sys.exit(main(['-1', '--ray', {str(tmp_path / 'f')!r}]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr == "shoal: --ray and --address need Ray, an optional extra: pip install 'shoal[ray]'\n"
    assert (tmp_path / "f").exists() and not (tmp_path / "f.shoal").exists()


def test_list(archive, capsys):
    assert cli.main(["-l", str(archive), str(archive)]) == 0
    out = capsys.readouterr().out
    assert "Uncompressed" in out and f"{len(TEXT):,}" in out and "2 files (total)" in out
    assert cli.main(["-lv", str(archive)]) == 0
    assert "stream 1" in capsys.readouterr().out


# -- bad inputs: one clear line, the right exit code -----------------------

def test_test_mode_good_and_corrupted(archive, capsys):
    assert cli.main(["-t", str(archive)]) == 0
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x55
    archive.write_bytes(bytes(data))
    assert cli.main(["-t", str(archive)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"shoal: {archive}: ") and "Traceback" not in err


VERSION_OFFSET = 6           # after the 6 magic bytes (docs/format.md)


@pytest.mark.parametrize("damage, message", [
    ("truncate", "truncated archive"), ("foreign", "not a shoal archive"),
    ("empty", "not a shoal archive"), ("version", "unsupported format version 99")])
def test_bad_archives_fail_cleanly(archive, capsys, damage, message):
    data = archive.read_bytes()
    archive.write_bytes({"truncate": data[: len(data) - 7], "foreign": b"PK\x03\x04" + data[4:],
                         "empty": b"",
                         "version": data[:VERSION_OFFSET] + b"\x63" + data[VERSION_OFFSET + 1:]}[damage])
    assert shoal("-d", archive) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"shoal: {archive}: ") and err.count("\n") == 1
    assert message in err
    assert archive.exists() and not archive.with_name("packed.txt").exists()
    assert leftovers(archive.parent) == []


def test_missing_directory_unknown_suffix_and_worst_code(sample, tmp_path, capsys):
    assert shoal(tmp_path / "nope") == 1
    assert "nope: no such file or directory" in capsys.readouterr().err
    assert shoal(tmp_path) == 2
    assert "is a directory, skipping" in capsys.readouterr().err
    assert shoal("-d", "-k", sample) == 2
    assert "filename has an unknown suffix, skipping" in capsys.readouterr().err
    # several files: carry on past a problem, exit with the worst code
    assert shoal("-k", tmp_path, tmp_path / "nope", sample) == 1
    assert sample.with_name("sample.txt.shoal").exists()
    capsys.readouterr()
    assert shoal("-q", tmp_path) == 2 and capsys.readouterr().err == ""


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_input(sample, capsys):
    os.chmod(sample, 0)
    assert shoal(sample) == 1
    assert "permission denied" in capsys.readouterr().err


def test_refuses_compressed_data_to_a_terminal(sample, monkeypatch, capsys):
    class Terminal(io.TextIOWrapper):
        def isatty(self):
            return True
    monkeypatch.setattr(sys, "stdout", Terminal(io.BytesIO()))
    assert shoal("-c", sample) == 1
    assert "compressed data not written to a terminal" in capsys.readouterr().err


def test_sizes():
    assert command.parse_size("65536") == 65536
    assert command.parse_size("64K") == command.parse_size("64KiB") == 65536
    assert command.parse_size("16M") == 16 << 20 and command.parse_size("1GiB") == 1 << 30
    for bad in ("", "12X", "-5", "0"):
        with pytest.raises(ValueError):
            command.parse_size(bad)
    assert command.parse_size("1Ki") == command.parse_size("1kB") == command.parse_size("1k") == 1024
    assert command.parse_size("0", zero=True) == 0
    assert cli.main(["-B", "12X", "-"]) == 1
    assert cli_args.parse_args(["-T0"]).threads == cli_args.cores() == cli_args.parse_args([]).threads
    assert cli_args.parse_args(["-dkT2", "x"]).threads == 2
    assert cli_args.parse_args(["-d", "x"]).threads == cli_args.cores()     # decoding too: one per core
    assert cli_args.parse_args(["-T0"]).threads_given == 0 and cli_args.parse_args([]).threads_given is None
    assert cli_args.parse_args(["--address", "h:6379"]).ray and not cli_args.parse_args([]).ray
    assert cli.main(["-T", "-1", "-"]) == 1


def test_preset_file(sample, tmp_path, capsys):
    import shoal.school
    preset = os.path.join(os.path.dirname(shoal.school.__file__), "presets", "level1.yaml")
    assert cli.main(["--preset", preset, "-k", str(sample)]) == 0
    assert cli.main(["--preset", str(tmp_path / "missing.yaml"), "-k", "-f", str(sample)]) == 1
    assert "missing.yaml" in capsys.readouterr().err


# -- safety: no partial output, input removed only on success ---------------

@pytest.mark.parametrize("failure", [ShoalError("boom midway"), KeyboardInterrupt()])
def test_failure_midway_leaves_no_output(sample, monkeypatch, capsys, failure):
    def fails_midway(src, dst, *args, **kwargs):
        dst.write(b"partial archive data")
        raise failure
    monkeypatch.setattr(files, "compress_stream", fails_midway)
    expected = 130 if isinstance(failure, KeyboardInterrupt) else 1
    assert shoal(sample) == expected
    assert sample.read_bytes() == TEXT                     # input untouched
    assert not sample.with_name("sample.txt.shoal").exists()
    assert leftovers(sample.parent) == []
    assert "interrupted" in capsys.readouterr().err or expected == 1


@pytest.fixture(params=["unnamed", "named"])
def temporary_kind(request, monkeypatch):
    """Run a test with each kind of temporary output: unnamed (Linux O_TMPFILE,
    linked in when complete) and the named fallback (renamed into place)."""
    if request.param == "named":
        monkeypatch.setattr(atomic, "_unnamed_files_supported", lambda: False)
    elif not atomic._unnamed_files_supported():
        pytest.skip("no O_TMPFILE here")
    return request.param


def test_disk_full_removes_temporary_file(sample, monkeypatch, capsys, temporary_kind):
    class FullDisk:
        def __init__(self, file):
            self._file = file

        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __getattr__(self, name):
            return getattr(self._file, name)
    real_open_temporary = atomic._open_temporary

    def open_on_full_disk(directory, name):
        path, file = real_open_temporary(directory, name)
        assert (path is None) == (temporary_kind == "unnamed")
        return path, FullDisk(file)
    monkeypatch.setattr(atomic, "_open_temporary", open_on_full_disk)
    assert shoal(sample) == 1
    err = capsys.readouterr().err
    assert err == f"shoal: {sample}.shoal: no space left on device\n"
    assert sample.read_bytes() == TEXT and leftovers(sample.parent) == []
    assert not sample.with_name("sample.txt.shoal").exists()


def test_both_kinds_of_temporary_output(sample, capsys, temporary_kind):
    # atomic, never clobbering without -f, replacing with -f, mode and times copied
    packed = sample.with_name("sample.txt.shoal")
    assert shoal("-k", "--verify", sample) == 0
    first = packed.read_bytes()
    assert oct(packed.stat().st_mode & 0o777) == oct(0o640)
    assert packed.stat().st_mtime_ns == 1_600_000_000_000_000_000
    assert shoal("-k", sample) == 1 and "file exists" in capsys.readouterr().err
    packed.write_bytes(b"old")
    other = sample.with_name("other-link")
    os.link(packed, other)                     # -f replaces the name, not the old file's data
    assert shoal("-k", "-f", sample) == 0
    assert packed.read_bytes() == first and other.read_bytes() == b"old"
    assert shoal("-d", "-f", "-o", sample, packed) == 0 and sample.read_bytes() == TEXT
    assert sorted(p.name for p in sample.parent.iterdir()) == ["other-link", "sample.txt", "sample.txt.shoal"]


# -- real processes: exit codes and pipes -----------------------------------

def test_stdin_to_stdout_via_subprocess(sample):
    packed = run_module("-1", input=TEXT)
    assert packed.returncode == 0 and packed.stderr == b""
    back = run_module("-d", "-", input=packed.stdout)
    assert back.returncode == 0 and back.stdout == TEXT
    bad = run_module("-d", input=b"definitely not an archive")
    assert bad.returncode == 1 and bad.stderr.startswith(b"shoal: (stdin): ")
    assert b"Traceback" not in bad.stderr


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_stdout_disk_full_via_subprocess(sample):
    with open("/dev/full", "wb") as full:
        result = run_module("-1", "-c", sample, stdout=full)
    assert result.returncode == 1
    assert b"no space left on device" in result.stderr and b"Traceback" not in result.stderr
    assert sample.exists()


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_mid_block_stops_at_once_and_leaves_no_output(tmp_path, signum):
    # A real signal while a block is being coded in compiled code: the CLI must
    # answer at once (not when the block ends), remove what it was writing
    # and end by that signal, as xz does (the shell says 130 or 143).
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(8 << 20))
    # -X faulthandler: should it hang, SIGABRT below prints where each thread is.
    # A shell that runs the tests in the background ignores SIGINT, its
    # children inherit that, and Python then installs no Ctrl-C handler: the
    # child gets the terminal's default back, as a user's shoal would have it.
    process = subprocess.Popen([sys.executable, "-X", "faulthandler", "-m", "shoal", "-1", big],
                               stderr=subprocess.PIPE, preexec_fn=default_signals)
    deadline = time.monotonic() + 120
    while not writing_into(process.pid, tmp_path) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)                                        # well inside the first block
    if process.poll() is not None:
        pytest.skip("compressed before it could be interrupted")
    sent = time.monotonic()
    process.send_signal(signum)
    try:
        err = process.communicate(timeout=60)[1]
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        pytest.fail("no exit 60 s after the signal; its threads:\n" + process.communicate(timeout=60)[1].decode())
    assert process.returncode == -signum and time.monotonic() - sent < 5
    assert shell_status(process.returncode) == 128 + signum            # 130, 143
    assert err == f"shoal: {big}: interrupted\n".encode()
    assert big.exists() and os.listdir(tmp_path) == ["big.bin"]
