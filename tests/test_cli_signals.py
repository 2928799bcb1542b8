"""Signals and start-up, as xz answers them (issue 21): no traceback at any
moment, and the process ends by the signal it got (a shell shows 130 for
Ctrl-C, 143 for SIGTERM, 129 for SIGHUP).  Mid-compression is in
test_cli.py (test_signal_mid_block_...).

`import shoal` must stay light (PEP 562): the command line sets up its
signal handling before the engine (NumPy, Numba) loads.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import shoal

from cli_helpers import default_signals

SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]


def handles_sigterm(pid) -> bool:
    """Whether the process catches SIGTERM: Python does not by default, so
    once it does, shoal's main() has set up its handlers."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    except OSError:
        pass
    return False


def console_script():
    script = Path(sys.executable).with_name("shoal")
    return [str(script)] if script.exists() else [sys.executable, "-m", "shoal"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("signals") / "data.bin"
    path.write_bytes(os.urandom(1 << 20))
    return path


@pytest.mark.skipif(not os.path.exists(f"/proc/{os.getpid()}/status"), reason="needs /proc")
@pytest.mark.parametrize("signum", SIGNALS)
@pytest.mark.parametrize("how", ["module", "script"])
def test_signal_while_the_engine_loads(data, signum, how):
    command = [sys.executable, "-m", "shoal"] if how == "module" else console_script()
    interrupted = 0
    for delay in (0.0, 0.15, 0.3):
        process = subprocess.Popen([*command, "-1", "-c", data], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, preexec_fn=default_signals)
        deadline = time.monotonic() + 60
        while not handles_sigterm(process.pid) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(delay)
        process.send_signal(signum)
        err = process.communicate(timeout=120)[1]
        if process.returncode == 0:
            continue                                                   # it finished first: nothing to check
        assert b"Traceback" not in err and b"KeyboardInterrupt" not in err, err.decode()
        assert process.returncode == -signum, (delay, process.returncode, err)   # ended by it, like xz
        # one line at most: which file, or (Ctrl-C before work began) that it was heard
        assert err in (b"", b"shoal: interrupted\n", f"shoal: {data}: interrupted\n".encode())
        if signum != signal.SIGINT:
            assert err != b"shoal: interrupted\n"
        interrupted += 1
    assert interrupted, "every run finished before its signal"


def test_a_signal_left_ignored_stays_ignored(data, tmp_path):
    # nohup shoal ...: SIGHUP was ignored by the parent and must stay so.
    def ignore_hangup():
        default_signals()
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    out = tmp_path / "out.shoal"
    process = subprocess.Popen([sys.executable, "-m", "shoal", "-1", "-o", out, data],
                               stderr=subprocess.PIPE, preexec_fn=ignore_hangup)
    time.sleep(0.5)
    process.send_signal(signal.SIGHUP)
    err = process.communicate(timeout=120)[1]
    assert process.returncode == 0 and err == b"" and out.exists()


# -- import shoal stays light ---------------------------------------------------------

def _fresh(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_import_shoal_and_the_cli_load_no_engine():
    loaded = _fresh("import sys, shoal, shoal.cli; "
                    "print(sorted(m for m in ('numpy', 'numba', 'shoal.api', 'shoal.school', 'argparse') "
                    "if m in sys.modules))")
    assert loaded == "[]"


def test_lazy_names_behave_as_before():
    assert shoal.__all__ == ["compress", "decompress", "open", "ShoalCompressor", "ShoalDecompressor",
                             "ShoalFile", "ShoalError", "DEFAULT_LEVEL", "SchoolFile"]
    from shoal import ShoalError, compress, decompress
    from shoal.errors import ShoalError as same
    assert ShoalError is same and shoal.compress is compress
    assert decompress(compress(b"abc" * 100, 1)) == b"abc" * 100
    assert set(shoal.__all__) <= set(dir(shoal))
    assert shoal.school.DEFAULT_LEVEL == shoal.DEFAULT_LEVEL            # a submodule by attribute
    with pytest.raises(AttributeError):
        shoal.no_such_thing
    namespace = {}
    exec("from shoal import *", namespace)
    assert {"compress", "open", "DEFAULT_LEVEL"} <= set(namespace)
    assert _fresh("import shoal; print(shoal.decompress(shoal.compress(b'xy', 1)))") == "b'xy'"
    assert _fresh("import shoal; print(shoal.fish.__name__)") == "shoal.fish"
