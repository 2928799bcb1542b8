"""Start-up (issue 22): what shoal loads before it needs it, and the first use of a level.

- shoal --version and --help load neither NumPy nor Numba, and the tools'
  --help no torch, Ray, transformers or Numba (checked in a fresh process by its
  sys.modules: timings vary, what is loaded does not);
- the defaults the command line repeats agree with the school's;
- shoal --precompile: a level compiled already says so, and off a terminal
  nothing else is said (no compile notice);
- the compile notice: drawn on one line while compiling and cleared after,
  only when enabled (a terminal), and fed by Numba's compile events.
"""
import importlib.metadata
import io
import subprocess
import sys
import time

import pytest

from shoal import cli_args, cli_compile

HEAVY = ("numpy", "numba", "torch", "ray", "transformers", "scipy", "yaml", "rich", "matplotlib")


def loaded_by(*argv: str) -> set[str]:
    """The heavy modules a fresh process has loaded once `shoal ARGV` ran in it."""
    code = ("import io, sys, contextlib\n"
            "from shoal.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    main({list(argv)!r})\n"
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


@pytest.mark.parametrize("flag", ["--version", "-V", "--help"])
def test_version_and_help_load_no_engine(flag):
    assert loaded_by(flag) == set()


@pytest.mark.parametrize("tool", ["train", "evolve", "score", "bench"])
def test_tool_help_loads_no_torch(tool):
    assert not loaded_by(tool, "--help") & {"torch", "ray", "transformers", "numba"}


def test_threads_and_blocks_load_no_ray(tmp_path):
    """Compressing and decompressing many blocks on every core, as by
    default, never imports Ray: only --ray / --address do (shoal/cluster.py)."""
    (tmp_path / "big").write_bytes(bytes(range(256)) * 600)
    assert "ray" not in loaded_by("-1", "-k", "-B", "16K", "-T0", str(tmp_path / "big"))
    assert "ray" not in loaded_by("-d", "-o", str(tmp_path / "back"), str(tmp_path / "big.shoal"))


def test_defaults_agree_with_the_school():
    from shoal import __version__, school
    assert (cli_args.DEFAULT_LEVEL, cli_args.DEFAULT_MEMLIMIT) == (school.DEFAULT_LEVEL, school.DEFAULT_MEMLIMIT)
    assert __version__ == importlib.metadata.version("shoal")


@pytest.mark.parametrize("text, levels", [("6", [6]), ("6,9", [6, 9]), ("1-3", [1, 2, 3]), ("3-4,9,4", [3, 4, 9]),
                                          ("all", list(range(1, 10)))])
def test_parse_levels(text, levels):
    assert cli_compile.parse_levels(text) == levels


@pytest.mark.parametrize("text", ["0", "10", "x", "3-1", "", "6,"])
def test_parse_levels_refuses(text):
    with pytest.raises(ValueError):
        cli_compile.parse_levels(text)


def run_shoal(*args):
    """shoal ARGS in a child process whose stderr is a pipe (not a terminal)."""
    return subprocess.run([sys.executable, "-m", "shoal", *args], capture_output=True, text=True, timeout=900)


def test_precompile_says_a_compiled_level_is_compiled():
    # level 1, which the command-line tests use: the first call compiles it
    # if no test has yet
    first = run_shoal("--precompile", "1")
    assert first.returncode == 0, first.stderr
    assert first.stderr == "shoal: level 1: already compiled\n" or first.stderr.startswith("shoal: level 1: compiled in")
    assert "compiling" not in first.stderr and "\r" not in first.stderr      # not a terminal: no notice
    again = run_shoal("-1", "--precompile")
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "shoal: level 1: already compiled\n")
    assert run_shoal("-q", "--precompile", "1").stderr == ""


@pytest.mark.parametrize("args", [["--precompile", "0"], ["--precompile", "1", "file"]])
def test_precompile_usage_errors(args):
    done = run_shoal(*args)
    assert done.returncode == 1 and "Try 'shoal --help'" in done.stderr


@pytest.fixture
def record(tmp_path, monkeypatch):
    """compile-seconds.json in a folder of the test's own."""
    path = tmp_path / "compile-seconds.json"
    monkeypatch.setattr(cli_compile, "_record_path", lambda: path)
    return path


def wait_for(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_notice_is_one_line_cleared_after(record):
    stream = io.StringIO()
    with cli_compile.watching("level 6", 6, enabled=True) as notice:
        notice.stream = stream
        notice.on_start()
        assert wait_for(lambda: "compiling level 6's model once (about " in stream.getvalue())
        notice.on_end()
        assert wait_for(lambda: stream.getvalue().endswith("\r\033[K"))
    assert "\n" not in stream.getvalue()
    assert notice.seconds > 0 and "level 6" in record.read_text()       # the next estimate: this machine's
    assert cli_compile.estimate("level 6", 6) == "10 s"                 # rounded, at least 10 s
    assert cli_compile.estimate("level 9", 9) == "7 min"


def test_notice_speaks_in_a_progress_bar(record):
    labels = []
    with cli_compile.watching("level 6", 6, enabled=True) as notice:
        notice.stream = io.StringIO()
        notice.use_bar(labels.append)
        notice.on_start()
        assert wait_for(lambda: labels)
        notice.on_end()
        assert wait_for(lambda: labels[-1] is None)
    assert labels[0].startswith("compiling level 6's model once") and notice.stream.getvalue() == ""


def test_no_notice_off_a_terminal():
    with cli_compile.watching("level 6", 6, enabled=False) as notice:
        assert notice is None


def test_notice_hears_numba_compiles(record):
    import numba

    def twice(x):
        return 2 * x
    with cli_compile.watching("level 6", 6, enabled=False, count=True) as notice:
        assert numba.njit(twice)(21) == 42            # not cached: compiles
    assert notice.seconds > 0
