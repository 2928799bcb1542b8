"""What the user typed: the shoal command line parsed into options (argparse).

parse_args(argv) accepts xz's and zstd's spellings: the mode flags -z -d -t -l
or a first word compress|decompress|test|list, combined short flags (-dkv,
-T0, -B64K, -9e), levels -0 ... -9 and -e, -S .SUF, -r, --rm, and checks the
combinations that make no sense (-o with several inputs or -r, -o with -c,
--list on stdin, a bad suffix).  Usage errors raise command.UsageError; the caller
prints them and exits 1 (argparse's own 2 would mean "warning" here).

A word (a mode or a tool) is a command only as the very first argument, as
in git: `shoal test x.shoal` tests, while `shoal ./test`, `shoal -- test`
or `shoal -k test` compress a file named test.
"""
from __future__ import annotations

import argparse
import os
import sys

from .cli_io import parse_memlimit
from .command import Parser, UsageError, parse_size

SUFFIX = ".shoal"
# The school's own defaults (school.DEFAULT_LEVEL, school.DEFAULT_MEMLIMIT),
# repeated here so that parsing, --help and --version load neither NumPy
# nor Numba (0.4 s); tests/test_cli_start.py checks that they agree.
DEFAULT_LEVEL = 6
DEFAULT_MEMLIMIT = 3 << 30
COMMANDS = ("compress", "decompress", "test", "list")

# The tools beside the codec, each a module shoal.<name> with main(argv);
# imported only when asked for, so compressing never loads torch or Ray.
TOOLS = {"score": "bits per byte of a model (a level, a fish, a Hugging Face LM)",
         "bench": "shoal against xz, zstd, brotli, ... on the same files",
         "train": "train a neural fish",
         "learn": "learn a school file from samples of your data (then: shoal -D NAME.school FILE)",
         "evolve": "evolve a school's preset; merge fish",
         "scaling": "fit a scaling law to small fish, predict a larger one, then check",
         "probe": "probe a fish's hidden units (the sentiment neuron)"}

EPILOG = """\
Modes may also be given as a first word: shoal compress|decompress|test|list.
shoal --demo [-1..-9] [FILE] compresses a sample shipped with shoal (or FILE)
and prints sizes, ratio, bits per byte and speed beside xz -9e.

Tools (shoal TOOL --help for each):
""" + "".join(f"  shoal {name:<8}{text}\n" for name, text in TOOLS.items()) + f"""
A mode or tool word is a command only as the very first argument.  To
compress a file named like one (test, list, bench, ...), write it as a path
or after another argument: shoal ./test, shoal -- test, shoal -k test.

Input files: FILE is compressed to FILE{SUFFIX}; FILE{SUFFIX} is decompressed to
FILE.  Like xz, the input is removed only after its output is complete,
flushed to disk (fsync) and given its name (until then it has none, or a
hidden temporary one), and only when everything succeeded.  It is kept with
-k, -c, -o and -t.  --rm (zstd's flag) removes it after -o too, and is
ignored with -c; the last of -k and --rm wins.  An existing output is never
replaced without -f.  Outputs keep the input's permissions and times.  -M
limits the memory decoding may take (-d, -t, --verify), as xz's -M does, and
with -T the memory of the blocks coded at once either way.

Threads: blocks are independent, so by default (-T 0) as many are coded at
once as there are cores (fewer within -M), compressing and decompressing;
an input of one block uses one thread.  The output is the same bytes for
any -T, and with --ray (a local Ray instance) or --address HOST:PORT (a
Ray cluster), where the blocks go to Ray's workers and come back in order.

-S .SUF names outputs FILE.SUF; -d then takes FILE.SUF as well as
FILE{SUFFIX}.  -r walks the directories named on the command line (as
zstd -r): it compresses every regular file not already ending in the
suffix, or with -d, -t, -l takes the files that end in it.  Symbolic links
inside those directories are never followed (skipped, a warning), even with
-f; a directory named on the command line is followed if it is a link.

Levels: -0 is -1 (xz's fastest); -e (--extreme, -9e, -6e) takes the next
level up, as xz's slower variant of a level (-6e = -7, -9e = -9).

Like xz, an input that would be removed is skipped (a warning) if it is a
symbolic link, has more than one hard link or has its setuid, setgid or
sticky bit set, unless -f is given (which compresses it and removes that
name; the output does not keep those bits).  When the input is kept (-k,
-c, -o) a symbolic link is followed.  An output that exists as a character
device, block device or FIFO (-o /dev/null) is written into, never
replaced, and the input is kept: -o to a character device or FIFO needs no
-f, other cases do.

First use of a level: its model's loops compile once on this machine (Numba),
from half a minute to a few minutes; later runs load them from the cache
($SHOAL_CACHE_DIR, else $XDG_CACHE_HOME/shoal or ~/.cache/shoal), which also
keeps what a school file's primer taught, for large files.  On a
terminal shoal says so while it compiles.  shoal --precompile [LEVELS] does it ahead of time (an install
script, an image): --precompile compiles level 6 (or -N's), --precompile
6,9 or 1-9 or all those levels; a level compiled already takes a second.

Sizes (-B, -M) take the suffixes K, M, G (powers of 1024; KiB, MiB, GiB too).

Exit status: 0 ok, 1 error, 2 warning (e.g. a file skipped); with several
files shoal carries on after a problem and reports the worst.  A signal ends
shoal as it ends xz, by that signal (temporary files removed first): the
shell reports 130 for Ctrl-C (SIGINT), 143 for SIGTERM, 129 for SIGHUP."""


class _VersionAction(argparse.Action):
    """-V/--version, printed only when asked for: the package's own
    __version__ (importlib.metadata would take 50 ms, a third of --version;
    tests/test_cli_start.py checks that the two agree)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from . import __version__
        parser._print_message(f"shoal {__version__}\n", sys.stdout)
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="shoal", epilog=EPILOG,
                     description="Lossless compression by a school of small context-mixing models.")
    modes = parser.add_argument_group("operation mode")
    for flags, mode, text in ((("-z", "--compress"), "compress", "compress (the default)"),
                              (("-d", "--decompress", "--uncompress"), "decompress", "decompress"),
                              (("-t", "--test"), "test", "test archive integrity; write nothing"),
                              (("-l", "--list"), "list", "list information about archives")):
        modes.add_argument(*flags, dest="mode", action="store_const", const=mode, help=text)
    modes.add_argument("--precompile", nargs="?", const="", metavar="LEVELS",
                       help="compile the model of each level (6; 6,9; 1-9; all; default: the level "
                            "chosen, -6 unless -1..-9 or --preset say otherwise) now rather than at its "
                            "first use, and exit; says which were compiled already")
    files = parser.add_argument_group("files")
    files.add_argument("-k", "--keep", dest="remove", action="store_const", const=False,
                       help="keep (don't delete) input files")
    files.add_argument("--rm", dest="remove", action="store_const", const=True,
                       help="remove each input once its output is complete, also with -o (as zstd; "
                            "the default without -k, -c, -o); ignored with -c")
    files.add_argument("-c", "--stdout", "--to-stdout", action="store_true",
                       help="write to standard output and keep input files")
    files.add_argument("-o", "--output", metavar="FILE", help="write the (single) output to FILE; keeps the input")
    files.add_argument("-f", "--force", action="store_true",
                       help="overwrite existing outputs; follow symlinks; write to a terminal; take inputs "
                            "with several hard links or a setuid, setgid or sticky bit")
    files.add_argument("-S", "--suffix", metavar=".SUF", type=_suffix_argument, default=SUFFIX,
                       help=f"name outputs FILE.SUF instead of FILE{SUFFIX}; -d takes both")
    files.add_argument("-r", "--recursive", action="store_true",
                       help="walk directories: every file in them (-d, -t, -l: every one ending in the "
                            "suffix); links inside are not followed")
    tuning = parser.add_argument_group("compression")
    for n in range(0, 10):
        tuning.add_argument(f"-{n}", dest="level", action="store_const", const=max(n, 1),
                            help=f"level 1 (fastest); -2 ... -9 up to 9 (best); default -{DEFAULT_LEVEL}; "
                                 "-0 is -1" if n == 1 else argparse.SUPPRESS)
    tuning.add_argument("-e", "--extreme", action="store_true",
                        help="the next level up (-6e = -7; -9e = -9), as xz's slower variant of a level")
    tuning.add_argument("--fast", dest="level", action="store_const", const=1, help="alias of -1")
    tuning.add_argument("--best", dest="level", action="store_const", const=9, help="alias of -9")
    tuning.add_argument("--preset", metavar="FILE.yaml", help="use a preset file instead of a level")
    tuning.add_argument("-D", "--school", metavar="FILE.school",
                        help="compress with a school learned by `shoal learn` instead of a level; with -d, -t, -l: "
                             "the school an archive needs, if it is not in a folder of $SHOAL_SCHOOL_PATH")
    tuning.add_argument("--neural", action="store_true",
                        help="add the shipped neural fish to the level or preset: smaller, far slower (tens of KB/s)")
    tuning.add_argument("-B", "--block-size", metavar="SIZE", type=_size_argument,
                        help="independent block size (default: the preset's)")
    tuning.add_argument("-T", "--threads", metavar="N", type=_threads_argument,
                        help="blocks coded at once; 0 = one per core, the default (an input of one "
                             "block uses one thread); with --ray, Ray's workers (the blocks in flight "
                             "with --address); the output is identical for any N")
    tuning.add_argument("--ray", action="store_true",
                        help="code the blocks on a local Ray instance (-T workers, default one per core; "
                             "needs shoal[ray]): docs/ray.md")
    tuning.add_argument("--address", metavar="HOST:PORT",
                        help="code the blocks on the Ray cluster at HOST:PORT (`ray start --head`; "
                             "implies --ray)")
    tuning.add_argument("--verify", action="store_true",
                        help="after compressing, decode the output and compare before succeeding")
    tuning.add_argument("-M", "--memlimit", "--memory", metavar="LIMIT", type=_memlimit_argument,
                        help="the blocks coded at once may use at most LIMIT bytes of memory (fewer "
                             "blocks at once, never none); decoding (-d, -t, --verify) stops before it "
                             "starts an archive that needs more for one block: a size (800MiB, 2G), N%% "
                             f"of this machine's RAM, or 0 or max for no limit; default "
                             f"{DEFAULT_MEMLIMIT >> 20:,} MiB (compressing: 25%% of RAM, at least that)")
    talk = parser.add_argument_group("messages")
    talk.add_argument("-v", "--verbose", action="count", default=0, help="a summary line per file: sizes in -> out, the ratio compressed/original (as xz -l), "
                           "bits per byte, MB/s of original; -lvv: each block's offsets in the original and the archive")
    talk.add_argument("-q", "--quiet", action="count", default=0,
                      help="suppress warnings; twice, errors too (exit status is unchanged)")
    talk.add_argument("-V", "--version", action=_VersionAction, help="show the version and exit")
    parser.add_argument("files", nargs="*", metavar="FILE", help='input files; none or "-" = standard input')
    parser.set_defaults(mode="compress", level=DEFAULT_LEVEL, memlimit=None)
    return parser


def _size_argument(text: str) -> int:
    from .codec.container import MAX_BLOCK_SIZE      # only for -B: the container's imports take 35 ms
    size = parse_size(text)                          # a command.SizeError is argparse's message too
    if not 1 <= size <= MAX_BLOCK_SIZE:
        raise argparse.ArgumentTypeError(f"block size must be 1 byte .. 1 GiB, got {text}")
    return size


def _suffix_argument(text: str) -> str:
    if not text or "/" in text or os.sep in text:
        raise argparse.ArgumentTypeError(f"{text!r}: invalid filename suffix")
    return text


def _memlimit_argument(text: str) -> int:
    try:
        return parse_memlimit(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _threads_argument(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid thread count {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError("thread count must be 0 (one per core) or more")
    return n


def cores() -> int:
    """The cores this process may run on: what -T 0 (the default) means."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = build_parser()
    word = None
    if argv and argv[0] in COMMANDS:       # "shoal decompress x" == "shoal -d x"; only the first word
        word = argv[0]
        parser.set_defaults(mode=word)
        argv = argv[1:]
    options = parser.parse_args(argv)
    options.command_word = word
    options.no_operands = not options.files
    options.files = options.files or ["-"]
    options.keep = options.remove is False
    # -T as given (None: not given), and the threads it means: 0 and no -T are one per core
    options.threads_given = options.threads
    options.threads = options.threads or cores()
    options.ray = options.ray or options.address is not None
    options.rm = options.remove is True
    if options.extreme:
        options.level = min(options.level + 1, 9)
    if options.precompile is not None:
        _check_precompile(options)
    if options.output is not None:
        if len(options.files) > 1:
            raise UsageError("-o/--output takes a single input file")
        if options.recursive:
            raise UsageError("-o/--output takes a single input file, not -r/--recursive")
        if options.stdout:
            raise UsageError("-o/--output and -c/--stdout exclude each other")
        if options.mode in ("test", "list"):
            raise UsageError(f"-o/--output makes no sense with --{options.mode}")
        if options.output == "-":
            options.output, options.stdout = None, True
    if options.mode == "list" and "-" in options.files:
        raise UsageError("--list does not support reading from standard input"
                         + (word_hint(word) if options.no_operands else ""))
    return options


def _check_precompile(options: argparse.Namespace) -> None:
    from .cli_compile import parse_levels
    if not options.no_operands:
        raise UsageError("--precompile takes no FILE (levels go right after it: --precompile 6,9)")
    if options.precompile:
        try:
            parse_levels(options.precompile)
        except ValueError as error:
            raise UsageError(str(error)) from None
    options.mode = "precompile"


def word_hint(word: str | None) -> str:
    """When the first word, taken as a mode, also names a file here: how to
    mean the file ("" when it names none)."""
    if word is None or not os.path.lexists(word):
        return ""
    return f"; to compress the file {word}, write shoal ./{word} or shoal -- {word}"
