"""Start-up (issue 22): what shoal loads before it needs it, and the first use of a level.

- shoal --version and --help load neither NumPy nor Numba, and the tools'
  --help no torch, Ray, transformers or Numba (checked in a fresh process by its
  sys.modules: timings vary, what is loaded does not);
- a block of a byte is always stored, so compressing a 1-byte file and
  decoding, testing or listing its archive (command line and API) load no
  compiled code, not even the engine's modules or Numba, and write the
  bytes they wrote when such a block went through the model;
- the defaults the command line repeats agree with the school's;
- shoal --precompile: a level compiled already says so, and off a terminal
  nothing else is said (no compile notice);
- the compile notice: drawn on one line while compiling and cleared after,
  only when enabled (a terminal), and fed by Numba's compile events.
"""
import importlib.metadata
import io
import json
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


# What a fresh process did, and what it loaded: Numba, the engine's
# modules, compiled functions that hold machine code (compiled or loaded
# from the cache), in the shoal modules it imported.
PROBE = """
import contextlib, io, json, sys
class Terminal(io.StringIO):         # stderr as on a terminal: the compile notice is on
    def isatty(self):
        return True
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(Terminal()):
{steps}
compiled = []
if "numba" in sys.modules:
    from numba.core.dispatcher import Dispatcher
    compiled = sorted(f"{{name}}.{{key}}" for name, module in list(sys.modules.items()) if name.startswith("shoal.")
                      for key, value in vars(module).items() if isinstance(value, Dispatcher) and value.overloads)
print(json.dumps({{"numba": "numba" in sys.modules, "engine": "shoal.school.engine" in sys.modules,
                  "compiled": compiled}}))
"""
ONE_BYTE = b"x"
ONE_BYTE_ARCHIVE = bytes.fromhex("8953484f414c020c1501788316dc8c")    # level 6, as written when coded
CLI = "from shoal.cli import main"
STORED_RUNS = {         # what each run does, line by line, in a folder holding `one` and `one.shoal`
    "shoal -c": [CLI, "assert main(['-q', '-o', 'out.shoal', 'one']) == 0",
                 f"assert open('out.shoal', 'rb').read() == {ONE_BYTE_ARCHIVE!r}"],
    "shoal -d": [CLI, "assert main(['-d', '-q', '-o', 'back', 'one.shoal']) == 0",
                 f"assert open('back', 'rb').read() == {ONE_BYTE!r}"],
    "shoal -t": [CLI, "assert main(['-t', 'one.shoal']) == 0"],
    "shoal -l": [CLI, "assert main(['-l', 'one.shoal']) == 0"],
    "shoal.compress": ["import shoal", f"assert shoal.compress({ONE_BYTE!r}) == {ONE_BYTE_ARCHIVE!r}"],
    "shoal.decompress": ["import shoal", f"assert shoal.decompress({ONE_BYTE_ARCHIVE!r}) == {ONE_BYTE!r}"],
}


@pytest.fixture(scope="module")
def stored_run(tmp_path_factory):
    """What a fresh process loads for one of STORED_RUNS (each run once)."""
    folder = tmp_path_factory.mktemp("stored")
    (folder / "one").write_bytes(ONE_BYTE)
    (folder / "one.shoal").write_bytes(ONE_BYTE_ARCHIVE)
    found = {}

    def run(name: str) -> dict:
        if name not in found:
            steps = "".join(f"    {line}\n" for line in STORED_RUNS[name])
            done = subprocess.run([sys.executable, "-c", PROBE.format(steps=steps)], cwd=folder, capture_output=True,
                                  text=True, timeout=120)
            assert done.returncode == 0, done.stderr
            found[name] = json.loads(done.stdout)
        return found[name]
    return run


@pytest.mark.parametrize("name", STORED_RUNS)
def test_a_stored_block_loads_no_compiled_code(stored_run, name):
    found = stored_run(name)
    assert (found["engine"], found["compiled"]) == (False, [])


@pytest.mark.parametrize("name", STORED_RUNS)
def test_a_stored_block_loads_no_numba(stored_run, name):
    """Choosing a preset reads the fish modules, whose compiled functions
    are stand-ins until the engine loads (shoal/jit.py): no Numba."""
    assert not stored_run(name)["numba"]


# Archives of tiny inputs as shoal wrote them when every block went through
# the model: blocks of a byte or none are stored without it now, and must
# read the same; blocks of two bytes still go through it (and may code).
# (level, input, block size, archive; level 6's id is 21 since its redefinition on 2026-12-05)
TINY_ARCHIVES = [
    (6, b"", None, "8953484f414c020415"),
    (6, ONE_BYTE, None, ONE_BYTE_ARCHIVE.hex()),
    (1, b"\0", None, "8953484f414c020c0b01008def02d2"),
    (6, b"ab", None, "8953484f414c020c150261626d48839e"),
    (6, b"\0\1", None, "8953484f414c021c150201d76922de36"),          # coded, by the binary school
    (6, b"hello", 1, "8953484f414c0220150105321a7793010100000001000000e7066b91e7066b91f61b3051680101000000010000005a7a"
                     "daef5a7adaef1038ef5865010100000001000000fec20696fec206963aec5cf96c010100000001000000fec20696fec2"
                     "06963aec5cf96c01010000000100000044930f0f44930f0f2faa71876f00050000000000000086a610366f7e6807"),
    (1, bytes(5), 2, "8953484f414c02200b02058bc7e2ae030200000001000000ff12d941fd850d2d03415b63d9030200000001000000ff"
                     "12d941fd850d2d03415b63d90101000000010000008def02d28def02d2c604c91f000005000000000000001df722c620"
                     "fa9a50"),
]


@pytest.mark.parametrize("level, data, block_size, archive", TINY_ARCHIVES)
def test_tiny_inputs_are_archived_as_before(tmp_path, level, data, block_size, archive):
    import shoal
    from shoal.api import ShoalCompressor
    archive = bytes.fromhex(archive)
    assert shoal.compress(data, level, block_size=block_size) == archive
    assert shoal.compress(data, level, block_size=block_size, threads=2) == archive
    assert shoal.decompress(archive) == data
    if block_size is None:
        streaming = ShoalCompressor(level)
        assert streaming.compress(data) + streaming.flush() == archive
        (tmp_path / "in").write_bytes(data)
        done = subprocess.run([sys.executable, "-m", "shoal", f"-{level}", "-c", str(tmp_path / "in")],
                              capture_output=True, timeout=900)
        assert (done.returncode, done.stdout) == (0, archive), done.stderr


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
    assert cli_compile.estimate("level 9", 9) == "50 s"                 # measured (MEASURED_SECONDS)
    cli_compile._remember("level 8", 430.0)                              # a slow machine's own time
    assert cli_compile.estimate("level 8", 8) == "7 min"


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


# a notice entered before Numba is loaded, then:
NOTICE_THEN = {
    # it ends first: it leaves nothing waiting for the engine
    "ends": ("    pass\n"
             "assert sys.modules['shoal.school.engine_loading']._hooks == []\n"),
    # the engine loads: it listens from then on, and hears what compiles
    "engine loads": ("    from shoal import school\n"
                     "    school._engine()\n"
                     "    assert notice._listener is not None\n"
                     "    import numba\n"
                     "    assert numba.njit(lambda x: 2 * x)(21) == 42\n"
                     "assert notice.seconds > 0\n"),
}


@pytest.mark.parametrize("then", NOTICE_THEN)
def test_notice_listens_once_the_engine_loads(tmp_path, then):
    """Entered before Numba is loaded, the notice waits for the school to
    load its engine: a run that codes no block loads no Numba for it."""
    code = ("import sys\n"
            "from pathlib import Path\n"
            "from shoal import cli_compile\n"
            f"cli_compile._record_path = lambda: Path({str(tmp_path / 'record.json')!r})\n"
            "assert 'numba' not in sys.modules\n"
            "with cli_compile.watching('level 6', 6, enabled=False, count=True) as notice:\n"
            "    assert notice._listener is None\n" + NOTICE_THEN[then])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_notice_hears_numba_compiles(record):
    import numba

    def twice(x):
        return 2 * x
    with cli_compile.watching("level 6", 6, enabled=False, count=True) as notice:
        assert numba.njit(twice)(21) == 42            # not cached: compiles
    assert notice.seconds > 0
