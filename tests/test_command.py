"""What every command line shares (shoal/command.py) and the one atomic writer
(shoal/atomic.py): exit statuses and one-line errors of run_tool, the
Parser's usage errors, sizes, and atomic_write's all-or-nothing."""
import os
import signal
import stat
import time

import pytest

from shoal import atomic, command
from shoal.errors import ShoalError


def run(work, capsys, **options):
    code = command.run_tool("shoal thing", work, [], **options)
    return code, capsys.readouterr().err


def test_run_tool_statuses_and_messages(capsys):
    def usage(argv):
        parser = command.Parser(prog="shoal thing sub")
        parser.add_argument("--n", type=command.positive_int)
        parser.parse_args(["--n", "0"])

    def fails(error):
        def work(argv):
            raise error
        return work

    assert run(lambda argv: 0, capsys) == (0, "")
    code, err = run(usage, capsys)
    assert code == 1 and err == ("shoal thing sub: argument --n: expected a whole number >= 1, got '0'\n"
                                 "Try 'shoal thing sub --help' for more information.\n")
    assert run(fails(command.UsageError("no FILE")), capsys) == \
        (1, "shoal thing: no FILE\nTry 'shoal thing --help' for more information.\n")
    assert run(fails(ShoalError("bad archive")), capsys) == (1, "shoal thing: bad archive\n")
    assert run(fails(FileNotFoundError(2, "No such file or directory", "x.txt")), capsys) == \
        (1, "shoal thing: x.txt: No such file or directory\n")
    missing = ModuleNotFoundError("no torch", name="torch")
    assert run(fails(missing), capsys) == \
        (1, "shoal thing: this needs torch, which is not installed: pip install 'shoal[train]'\n")
    assert run(fails(missing), capsys, extras={"torch": "hf"})[1].endswith("pip install 'shoal[hf]'\n")
    with pytest.raises(ModuleNotFoundError):           # a shoal module missing is a bug: its traceback stays
        command.run_tool("shoal thing", fails(ModuleNotFoundError("x", name="shoal.nothing")), [])
    assert run(fails(SystemExit(0)), capsys) == (0, "")
    assert run(fails(SystemExit("worker did not start")), capsys) == (1, "worker did not start\n")
    assert run(fails(KeyboardInterrupt()), capsys) == (130, "shoal thing: interrupted\n")


def test_sigterm_stops_a_tool_like_ctrl_c_with_143(capsys):
    seen = []

    def work(argv):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)                              # the handler's Terminated ends this at once
        finally:
            seen.append("cleaned up")
    before = signal.getsignal(signal.SIGTERM)
    assert run(work, capsys) == (143, "shoal thing: interrupted\n")
    assert seen == ["cleaned up"] and signal.getsignal(signal.SIGTERM) == before


def test_sizes():
    assert command.parse_size("64K") == command.parse_size("64KiB") == command.parse_size("64kB") == 65536
    assert command.parse_size("2G") == 2 << 30 and command.parse_size("0", zero=True) == 0
    for bad in ("", "1.5M", "12X", "-5", "0"):
        with pytest.raises(ValueError):
            command.parse_size(bad)
    parser = command.Parser(prog="p")
    parser.add_argument("--size", type=command.parse_size)
    assert parser.parse_args(["--size", "16M"]).size == 16 << 20
    with pytest.raises(command.UsageError, match="invalid size '16Q'"):
        parser.parse_args(["--size", "16Q"])


def test_atomic_write_is_all_or_nothing(tmp_path):
    path = tmp_path / "out.json"
    atomic.write_bytes(path, b"first")
    with pytest.raises(RuntimeError):
        with atomic.atomic_write(path) as file:
            file.write(b"half of the sec")
            raise RuntimeError("stopped")
    assert path.read_bytes() == b"first" and os.listdir(tmp_path) == ["out.json"]
    with atomic.atomic_write(path) as file:
        file.write(b"second")
        file.seek(0)                                   # a real, seekable file (np.savez, torch.save want one)
        file.write(b"S")
    assert path.read_bytes() == b"Second"
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    with pytest.raises(FileExistsError):
        atomic.write_bytes(path, b"third", overwrite=False)
    assert path.read_bytes() == b"Second"
    atomic.write_bytes(os.devnull, b"into a device, never replacing it")
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
