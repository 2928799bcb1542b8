"""The manners of xz (issue 22): what xz and zstd users expect of the command line.

- a mode or tool word is a command only as the very first argument;
- -k, -c and -o follow a symbolic link given on the command line, as xz does;
- -0, -e/--extreme, -S/--suffix, -r/--recursive, --rm;
- stream padding (null bytes, a multiple of 4) after a stream is accepted;
- one meaning of "ratio": compressed / original, in -v, -dv, -tv and -l, and
  --- for an empty file.

Level 1 and small inputs throughout; in-process calls where the exit status
is all that matters, xz and zstd themselves where they are installed.
"""
import io
import os
import re
import shutil
import subprocess
import sys

import pytest

from shoal import cli, cli_args

from cli_helpers import packed, shoal, unpacked

TEXT = b"".join(b"entry %d of the sample: %d\n" % (i, i * 11) for i in range(300))
XZ = shutil.which("xz")


@pytest.fixture
def sample(tmp_path):
    path = tmp_path / "sample.txt"
    path.write_bytes(TEXT)
    return path


class Terminal(io.BytesIO):
    """A standard input that says it is a terminal."""

    def isatty(self):
        return True

    @property
    def buffer(self):
        return self


# -- 1. mode words and file names ----------------------------------------------------

@pytest.mark.parametrize("word", [*cli_args.COMMANDS])
def test_a_file_named_like_a_mode_is_compressed_when_written_as_a_file(tmp_path, monkeypatch, word):
    monkeypatch.chdir(tmp_path)
    for spelling in (["--", word], [f"./{word}"], ["-k", word]):
        (tmp_path / word).write_bytes(TEXT)
        assert shoal(*spelling) == 0, spelling
        assert unpacked((tmp_path / f"{word}.shoal").read_bytes()) == TEXT
        (tmp_path / f"{word}.shoal").unlink()


@pytest.mark.parametrize("word", ["compress", "decompress", "test"])
def test_a_mode_word_that_names_a_file_does_not_read_the_terminal(tmp_path, monkeypatch, capsys, word):
    """`shoal test` with a file named test here and no other argument: the
    word is the mode (first word), which would read the terminal; shoal says
    how to name the file instead and does nothing."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / word).write_bytes(TEXT)
    monkeypatch.setattr(sys, "stdin", Terminal())
    assert cli.main([word]) == 1
    err = capsys.readouterr().err
    assert err == (f"shoal: '{word}' as the first word is the mode --{word}, on standard input (a terminal); "
                   f"to compress the file {word}, write shoal ./{word} or shoal -- {word}\n")
    assert os.listdir(tmp_path) == [word]


def test_list_word_that_names_a_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "list").write_bytes(TEXT)
    assert cli.main(["list"]) == 1
    assert ("--list does not support reading from standard input; to compress the file list, write "
            "shoal ./list or shoal -- list") in capsys.readouterr().err


def test_a_mode_word_is_a_mode_only_as_the_first_argument(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.shoal").write_bytes(packed(TEXT))
    (tmp_path / "test").write_bytes(TEXT)
    assert cli.main(["test", "x.shoal"]) == 0                   # the mode, on x.shoal
    assert (tmp_path / "test").read_bytes() == TEXT
    assert cli.main(["test", "-v", "test"]) == 1                # the mode, on the file test
    assert "test: not a shoal archive" in capsys.readouterr().err
    # A mode word on standard input that is not a terminal is the mode, as it always was.
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(packed(TEXT))))
    assert cli.main(["test"]) == 0


def test_help_says_how_words_and_files_are_told_apart(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "command only as the very first argument" in out
    assert "shoal ./test, shoal -- test, shoal -k test" in out


# -- 2. symbolic links on the command line ----------------------------------------------

@pytest.fixture
def link(tmp_path):
    target = tmp_path / "target.txt"
    target.write_bytes(TEXT)
    path = tmp_path / "link.txt"
    path.symlink_to("target.txt")
    return path


def test_keep_follows_a_symlink_like_xz(link, tmp_path):
    assert shoal("-k", link) == 0
    assert link.is_symlink() and (tmp_path / "target.txt").read_bytes() == TEXT
    assert unpacked((tmp_path / "link.txt.shoal").read_bytes()) == TEXT
    # decompressing through a link to an archive, keeping it
    (tmp_path / "alias.shoal").symlink_to("link.txt.shoal")
    assert shoal("-dk", tmp_path / "alias.shoal") == 0
    assert (tmp_path / "alias").read_bytes() == TEXT and (tmp_path / "alias.shoal").is_symlink()


def test_symlink_is_skipped_when_it_would_be_removed(link, tmp_path, capsysbinary):
    assert shoal(link) == 2
    assert capsysbinary.readouterr().err == f"shoal: {link}: is a symbolic link, skipping\n".encode()
    assert shoal("--rm", "-o", tmp_path / "out", link) == 2
    assert link.is_symlink() and not (tmp_path / "link.txt.shoal").exists()
    assert not (tmp_path / "out").exists()
    assert shoal("-c", link) == 0 and shoal("-o", tmp_path / "out", link) == 0
    # -f: compressed, and the link (not its target) removed
    assert shoal("-f", link) == 0
    assert not os.path.lexists(link) and (tmp_path / "target.txt").read_bytes() == TEXT
    assert unpacked((tmp_path / "link.txt.shoal").read_bytes()) == TEXT


@pytest.mark.skipif(not XZ, reason="xz is not installed")
@pytest.mark.parametrize("flags", [[], ["-k"], ["-f"], ["-c"]])
def test_symlinks_as_xz_has_them(tmp_path, flags):
    """xz itself: the same exit status, and the same files left, for a
    symbolic link given with and without -k, -f, -c."""
    seen = {}
    for tool, suffix in (("xz", ".xz"), ("shoal", ".shoal")):
        folder = tmp_path / tool
        folder.mkdir()
        (folder / "target").write_bytes(TEXT)
        (folder / "link").symlink_to("target")
        command = [XZ] if tool == "xz" else [sys.executable, "-m", "shoal", "-1"]
        result = subprocess.run([*command, *flags, "link"], cwd=folder, capture_output=True, timeout=120)
        left = sorted((p.name.replace(suffix, ".SUFFIX"), p.is_symlink()) for p in folder.iterdir())
        seen[tool] = (result.returncode, left)
    assert seen["shoal"] == seen["xz"]


# -- 3. flags: -0, -e, -S, -r, --rm --------------------------------------------------------

@pytest.mark.parametrize("argv, level", [
    (["-0"], 1), (["-e"], 7), (["-6e"], 7), (["-9e"], 9), (["-e", "-1"], 2), (["-1", "-e"], 2), (["-0e"], 2),
    (["--extreme", "-4"], 5), (["--best", "-e"], 9), (["-ke3", "x"], 4), ([], 6)])
def test_levels_zero_and_extreme(argv, level):
    assert cli_args.parse_args(argv).level == level


def test_level_zero_is_level_one(sample, tmp_path):
    a, b = tmp_path / "a.shoal", tmp_path / "b.shoal"
    assert cli.main(["-0", "-o", str(a), str(sample)]) == 0
    assert cli.main(["-1", "-o", str(b), str(sample)]) == 0
    assert a.read_bytes() == b.read_bytes()


def test_suffix(sample, tmp_path, capsys):
    assert shoal("-S", ".sh", sample) == 0
    out = tmp_path / "sample.txt.sh"
    assert not sample.exists() and unpacked(out.read_bytes()) == TEXT
    assert shoal("-d", out) == 2                                   # .sh is not known without -S
    assert "filename has an unknown suffix, skipping" in capsys.readouterr().err
    assert shoal("-d", "--suffix=.sh", out) == 0
    assert sample.read_bytes() == TEXT and not out.exists()
    # -d with -S takes .shoal too, as xz -d -S takes .xz
    (tmp_path / "other.shoal").write_bytes(packed(TEXT))
    assert shoal("-d", "-S", ".sh", tmp_path / "other.shoal") == 0
    assert (tmp_path / "other").read_bytes() == TEXT
    # compressing a file that already has either suffix is skipped
    for name in ("done.sh", "done.shoal"):
        (tmp_path / name).write_bytes(TEXT)
        assert shoal("-S", ".sh", tmp_path / name) == 2
        suffix = name[4:]
        assert f"already has `{suffix}' suffix, skipping" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["", "a/b"])
def test_bad_suffix_is_a_usage_error(sample, capsys, bad):
    assert shoal("-S", bad, sample) == 1
    assert "invalid filename suffix" in capsys.readouterr().err
    assert sample.exists()


@pytest.fixture
def tree(tmp_path):
    """d/{a.txt, old.shoal, sub/b.txt, sub/deeper/c.txt, link-to-file, link-to-dir, fifo},
    and outside/secret.txt (only reachable through link-to-dir)."""
    d = tmp_path / "d"
    (d / "sub" / "deeper").mkdir(parents=True)
    (d / "a.txt").write_bytes(TEXT)
    (d / "sub" / "b.txt").write_bytes(TEXT[:1000])
    (d / "sub" / "deeper" / "c.txt").write_bytes(b"")
    (d / "old.shoal").write_bytes(packed(b"old"))
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_bytes(TEXT)
    (d / "link-to-file").symlink_to("a.txt")
    (d / "link-to-dir").symlink_to(tmp_path / "outside")
    os.mkfifo(d / "fifo")
    return d


def listing(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_recursive(tree, tmp_path, capsys):
    outside = listing(tmp_path / "outside")
    assert shoal("-r", "-f", tree) == 2                      # links and the FIFO skipped: warnings
    err = capsys.readouterr().err.splitlines()
    assert err == [f"shoal: {tree}/fifo: is not a regular file, skipping",
                   f"shoal: {tree}/link-to-dir: is a symbolic link, skipping",
                   f"shoal: {tree}/link-to-file: is a symbolic link, skipping"]
    assert listing(tree) == ["a.txt.shoal", "fifo", "link-to-dir", "link-to-file", "old.shoal", "sub",
                             "sub/b.txt.shoal", "sub/deeper", "sub/deeper/c.txt.shoal"]
    assert listing(tmp_path / "outside") == outside          # never followed, even with -f
    assert (tree / "old.shoal").read_bytes() == packed(b"old")   # archives are not compressed again
    assert shoal("-tr", tree) == 0
    assert shoal("-lr", tree) == 0
    out = capsys.readouterr().out
    assert "4 files (total)" in out and f"{tree}/sub/deeper/c.txt.shoal" in out
    assert shoal("-dr", tree) == 0                           # only archives; links not named *.shoal
    assert (tree / "a.txt").read_bytes() == TEXT and (tree / "old").read_bytes() == b"old"
    assert (tree / "sub" / "deeper" / "c.txt").read_bytes() == b""
    assert not list(tree.rglob("*.shoal"))


def test_recursive_follows_a_directory_named_on_the_command_line(tree, tmp_path):
    (tmp_path / "alias").symlink_to("d")
    assert shoal("-rk", tmp_path / "alias") == 2
    assert (tree / "sub" / "b.txt.shoal").exists()


def test_without_recursive_a_directory_is_skipped(tree, capsys):
    assert shoal(tree) == 2
    assert capsys.readouterr().err == f"shoal: {tree}: is a directory, skipping\n"


def test_recursive_and_output_exclude_each_other(tree, tmp_path, capsys):
    assert shoal("-r", "-o", tmp_path / "x", tree) == 1
    assert "-o/--output takes a single input file, not -r/--recursive" in capsys.readouterr().err


def test_recursive_to_stdout_concatenates(tree, capsysbinary):
    assert shoal("-rc", tree / "sub") == 0
    assert unpacked(capsysbinary.readouterr().out) == TEXT[:1000]


def test_rm(sample, tmp_path):
    out = tmp_path / "out.shoal"
    assert shoal("--rm", "-o", out, sample) == 0                      # -o keeps, unless --rm (zstd)
    assert not sample.exists() and unpacked(out.read_bytes()) == TEXT
    assert shoal("-d", "--rm", "-o", sample, out) == 0
    assert sample.read_bytes() == TEXT and not out.exists()
    assert shoal("--rm", "-c", sample) == 0 and sample.exists()       # ignored with -c (zstd)
    assert shoal("-k", "--rm", sample) == 0 and not sample.exists()   # the last of -k and --rm wins
    assert shoal("-d", "--rm", "-k", tmp_path / "sample.txt.shoal") == 0
    assert (tmp_path / "sample.txt.shoal").exists()
    assert shoal("--rm", "-o", os.devnull, sample) == 0 and sample.exists()   # into a device: kept


def test_rm_with_output_skips_what_xz_would_not_remove(sample, tmp_path, capsys):
    os.link(sample, tmp_path / "second-name")
    assert shoal("--rm", "-o", tmp_path / "out", sample) == 2
    assert "more than one hard link, skipping" in capsys.readouterr().err
    assert sample.exists() and not (tmp_path / "out").exists()


@pytest.mark.skipif(not shutil.which("zstd"), reason="zstd is not installed")
def test_rm_as_zstd_has_it(tmp_path):
    cases = (["--rm", "-o", "OUT"], ["-c", "--rm"], ["-k", "--rm", "-o", "OUT"], ["--rm", "-k", "-o", "OUT"])
    for case, flags in enumerate(cases):
        seen = {}
        for tool in ("zstd", "shoal"):
            folder = tmp_path / f"{tool}-{case}"
            folder.mkdir()
            (folder / "in").write_bytes(TEXT)
            command = ["zstd", "-q", "-f"] if tool == "zstd" else [sys.executable, "-m", "shoal", "-1"]
            result = subprocess.run([*command, *flags, "in"], cwd=folder, capture_output=True, timeout=120,
                                    stdin=subprocess.DEVNULL)
            seen[tool] = result.returncode, (folder / "in").exists(), (folder / "OUT").exists()
        assert seen["shoal"] == seen["zstd"], flags


# -- 4. stream padding -------------------------------------------------------------------------

def test_stream_padding_on_the_command_line(tmp_path, capsys):
    archive = tmp_path / "padded.shoal"
    blob = packed(TEXT) + bytes(8) + packed(b"more") + bytes(4)
    archive.write_bytes(blob)
    assert shoal("-t", archive) == 0
    assert shoal("-l", archive) == 0
    assert f"{len(blob):>14,}" in capsys.readouterr().out
    assert shoal("-dkv", archive) == 0
    assert (tmp_path / "padded").read_bytes() == TEXT + b"more"
    assert f"padded.shoal: {len(blob):,} -> {len(TEXT) + 4:,} bytes" in capsys.readouterr().err
    archive.write_bytes(packed(TEXT) + bytes(3))
    assert shoal("-t", archive) == 1
    assert capsys.readouterr().err == (f"shoal: {archive}: trailing garbage after stream 1: 3 null bytes, "
                                       "and stream padding must be a multiple of 4 bytes\n")


@pytest.mark.skipif(not XZ, reason="xz is not installed")
@pytest.mark.parametrize("pad", [1, 3, 4, 8])
def test_padding_as_xz_has_it(tmp_path, pad):
    (tmp_path / "x").write_bytes(TEXT)
    xz = subprocess.run([XZ, "-c", tmp_path / "x"], capture_output=True, check=True).stdout
    codes = []
    for blob, command in ((xz, [XZ]), (packed(TEXT), [sys.executable, "-m", "shoal"])):
        path = tmp_path / "padded"
        for padded in (blob + bytes(pad), blob + bytes(pad) + blob):
            path.write_bytes(padded)
            codes.append(subprocess.run([*command, "-t", path], capture_output=True, timeout=120).returncode)
    assert codes[2:] == codes[:2] == ([0, 0] if pad % 4 == 0 else [1, 1])


# -- 5. one meaning of ratio ----------------------------------------------------------------------

SUMMARY = re.compile(r"^(.*): ([\d,]+) -> ([\d,]+) bytes, ratio (\S+), (\S+) bits/byte, [\d.]+ MB/s(.*)$")


def summary(err):
    name, a, b, ratio, bpb, rest = SUMMARY.match(err.strip()).groups()
    return name, int(a.replace(",", "")), int(b.replace(",", "")), ratio, bpb, rest


def test_ratio_is_compressed_over_original_in_every_direction(sample, tmp_path, capsys):
    assert shoal("-kv", sample) == 0
    name, size_in, size_out, ratio, bpb, _ = summary(capsys.readouterr().err)
    archive = tmp_path / "sample.txt.shoal"
    assert (name, size_in, size_out) == (str(sample), len(TEXT), archive.stat().st_size)
    assert ratio == f"{size_out / size_in:.3f}" and bpb == f"{8 * size_out / size_in:.3f}"
    # -dv: archive -> original, as xz -dv puts the archive first; the same ratio
    assert shoal("-dv", "-o", tmp_path / "back", archive) == 0
    assert summary(capsys.readouterr().err) == (str(archive), size_out, size_in, ratio, bpb, "")
    assert shoal("-tv", archive) == 0
    assert summary(capsys.readouterr().err) == (str(archive), size_out, size_in, ratio, bpb, ", ok")
    assert shoal("-l", archive) == 0
    assert f"{size_out:>14,} {size_in:>14,} {ratio:>7}" in capsys.readouterr().out


def test_an_empty_file_has_no_ratio(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert shoal("-kv", empty) == 0
    _, size_in, size_out, ratio, bpb, _ = summary(capsys.readouterr().err)
    assert (size_in, ratio, bpb) == (0, "---", "---") and size_out > 0
    assert shoal("-dv", "-f", tmp_path / "empty.shoal") == 0
    _, size_in, size_out, ratio, bpb, _ = summary(capsys.readouterr().err)
    assert (size_out, ratio, bpb) == (0, "---", "---")
