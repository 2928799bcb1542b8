"""The command line and the file system, as xz has it (issue 21).

- an output that exists as a device or FIFO is written into, never replaced;
- inputs xz skips: more than one hard link, setuid/setgid/sticky bits;
- unnamed temporary outputs: a kill -9 leaves nothing behind;
- --verify -c with a full temporary folder names the spool file.

Level 1 and small inputs throughout; in-process calls where the exit status
is all that matters.
"""
import errno
import io
import os
import signal
import stat
import subprocess
import sys
import threading
import time

import pytest

from shoal import atomic

from cli_helpers import packed, shoal, unpacked, writing_into

TEXT = b"".join(b"record %d of the sample: %d\n" % (i, i * 7) for i in range(300))
ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture
def sample(tmp_path):
    path = tmp_path / "sample.txt"
    path.write_bytes(TEXT)
    return path


@pytest.fixture
def fake_null(tmp_path):
    """A real character device (1,3 = null) in tmp_path; needs root."""
    if not ROOT:
        pytest.skip("mknod needs root")
    path = tmp_path / "fakenull"
    try:
        os.mknod(path, 0o644 | stat.S_IFCHR, os.makedev(1, 3))
    except OSError as error:
        pytest.skip(f"cannot make a device here: {error}")
    return path


class Drain:
    """A reader thread that reads a FIFO to its end."""

    def __init__(self, path):
        self.data = b""
        self._thread = threading.Thread(target=self._read, args=(path,), daemon=True)
        self._thread.start()

    def _read(self, path):
        with open(path, "rb") as fifo:
            self.data = fifo.read()

    def join(self):
        self._thread.join(30)
        assert not self._thread.is_alive()
        return self.data


def is_char_device(path):
    return stat.S_ISCHR(os.lstat(path).st_mode)


# -- devices and FIFOs as outputs: written into, never replaced ---------------

@pytest.mark.parametrize("force", [[], ["-f"]])
def test_output_option_writes_into_a_character_device(fake_null, sample, force):
    archive = sample.with_name("sample.txt.shoal")
    archive.write_bytes(packed(TEXT))
    assert shoal(*force, "-d", "-o", fake_null, archive) == 0          # like zstd -o /dev/null
    assert is_char_device(fake_null) and os.major(os.lstat(fake_null).st_rdev) == 1
    assert shoal(*force, "-o", fake_null, sample) == 0
    assert shoal(*force, "--verify", "-o", fake_null, sample) == 0
    assert is_char_device(fake_null)
    assert stat.S_IMODE(os.lstat(fake_null).st_mode) == 0o644           # mode left alone
    assert sample.read_bytes() == TEXT and archive.exists()             # -o keeps the input
    assert [p.name for p in fake_null.parent.iterdir() if "shoal-tmp" in p.name] == []


def test_symlink_to_a_device_is_followed_not_replaced(fake_null, sample, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(fake_null)
    assert shoal("-f", "-o", link, sample) == 0
    assert link.is_symlink() and is_char_device(fake_null)


def test_default_output_name_that_is_a_device(fake_null, tmp_path, capsys):
    # FILE.shoal, or FILE when decompressing, exists as a device: like xz,
    # not without -f; with -f written into (xz would replace the node) and,
    # as the data is in no file, the input is kept.
    source = tmp_path / "fakenull.shoal"
    source.write_bytes(packed(TEXT))
    assert shoal("-d", source) == 1
    assert f"{fake_null}: file exists; use -f" in capsys.readouterr().err
    assert shoal("-d", "-f", source) == 0
    assert is_char_device(fake_null) and source.read_bytes() == packed(TEXT)
    plain = tmp_path / "plain"
    plain.write_bytes(TEXT)
    os.mknod(tmp_path / "plain.shoal", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    assert shoal(plain) == 1
    assert shoal("-f", plain) == 0
    assert is_char_device(tmp_path / "plain.shoal") and plain.read_bytes() == TEXT


def test_fifo_output_is_written_into(tmp_path, sample):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = Drain(fifo)
    assert shoal("-o", fifo, sample) == 0
    assert unpacked(reader.join()) == TEXT
    reader = Drain(fifo)
    assert shoal("--verify", "-o", fifo, sample) == 0                   # spooled, then written
    assert unpacked(reader.join()) == TEXT
    archive = tmp_path / "packed.shoal"
    archive.write_bytes(packed(TEXT))
    reader = Drain(fifo)
    assert shoal("-d", "-f", "-o", fifo, archive) == 0
    assert reader.join() == TEXT
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["packed.shoal", "pipe", "sample.txt"]


def test_fifo_under_the_default_name_needs_force_and_keeps_the_input(tmp_path, sample, capsys):
    fifo = tmp_path / "sample.txt.shoal"
    os.mkfifo(fifo)
    assert shoal(sample) == 1 and "file exists" in capsys.readouterr().err
    reader = Drain(fifo)
    assert shoal("-f", sample) == 0
    assert unpacked(reader.join()) == TEXT
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and sample.read_bytes() == TEXT


def test_fifo_reader_that_leaves_is_an_error_on_that_output(tmp_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    big = tmp_path / "big.shoal"
    big.write_bytes(packed(os.urandom(1 << 20)))

    def read_a_little():
        with open(fifo, "rb") as pipe:
            pipe.read(10)
    reader = threading.Thread(target=read_a_little, daemon=True)
    reader.start()
    assert shoal("-d", "-o", fifo, big) == 1
    reader.join(30)
    assert capsys.readouterr().err == f"shoal: {fifo}: broken pipe\n"
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_stdout_that_is_a_device_via_subprocess(sample):
    with open(os.devnull, "wb") as null:
        result = subprocess.run([sys.executable, "-m", "shoal", "-1", "-c", sample], stdout=null,
                                stderr=subprocess.PIPE, timeout=120)
    assert result.returncode == 0 and result.stderr == b"" and sample.read_bytes() == TEXT


# -- inputs xz skips unless -f ---------------------------------------------------

def _hard_link(path):
    os.link(path, path.with_name("other-name"))


@pytest.mark.parametrize("make, message", [
    (_hard_link, "input file has more than one hard link, skipping"),
    (lambda p: os.chmod(p, 0o4644), "file has setuid or setgid bit set, skipping"),
    (lambda p: os.chmod(p, 0o2644), "file has setuid or setgid bit set, skipping"),
    (lambda p: os.chmod(p, 0o1644), "file has sticky bit set, skipping")])
def test_inputs_xz_skips(sample, capsys, make, message):
    make(sample)
    before = os.lstat(sample)
    assert shoal(sample) == 2                                           # a warning, like xz
    assert capsys.readouterr().err == f"shoal: {sample}: {message}\n"
    assert sample.exists() and not sample.with_name("sample.txt.shoal").exists()
    assert os.lstat(sample).st_mode == before.st_mode
    # kept anyway (-k, -c, -o): nothing to lose, as in xz
    assert shoal("-k", sample) == 0 and sample.exists()
    sample.with_name("sample.txt.shoal").unlink()
    assert shoal("-o", sample.with_name("elsewhere"), sample) == 0
    # -f: compressed and that name removed, like xz -f; the bits are not copied
    assert shoal("-f", sample) == 0
    assert not sample.exists()
    out = sample.with_name("sample.txt.shoal")
    assert stat.S_IMODE(os.lstat(out).st_mode) == stat.S_IMODE(before.st_mode) & 0o777
    assert unpacked(out.read_bytes()) == TEXT
    if make is _hard_link:
        assert sample.with_name("other-name").read_bytes() == TEXT     # the data lives on there


def test_decompressing_a_hard_linked_archive_is_skipped_too(tmp_path, capsys):
    archive = tmp_path / "data.shoal"
    archive.write_bytes(packed(TEXT))
    os.link(archive, tmp_path / "copy.shoal")
    assert shoal("-d", archive) == 2
    assert "more than one hard link, skipping" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()
    assert shoal("-d", "-f", archive) == 0
    assert (tmp_path / "data").read_bytes() == TEXT and not archive.exists()


@pytest.mark.skipif(not __import__("shutil").which("xz"), reason="xz is not installed")
def test_the_same_skips_as_xz(tmp_path):
    # xz itself, where it is installed: same files skipped, same exit status.
    for mode, link in ((0o4644, False), (0o1644, False), (0o644, True)):
        for tool, suffix in (("xz", ".xz"), ("shoal", ".shoal")):
            path = tmp_path / f"{tool}-{mode:o}-{link}"
            path.write_bytes(TEXT)
            os.chmod(path, mode)
            if link:
                os.link(path, f"{path}-link")
            command = ["xz"] if tool == "xz" else [sys.executable, "-m", "shoal", "-1"]
            result = subprocess.run([*command, path], capture_output=True, timeout=120)
            assert result.returncode == 2, (tool, result.stderr)
            assert path.exists() and not os.path.exists(f"{path}{suffix}")


# -- temporary outputs -------------------------------------------------------------

@pytest.mark.skipif(not atomic._unnamed_files_supported(), reason="needs O_TMPFILE and /proc")
def test_kill_9_mid_compression_leaves_nothing_behind(tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(8 << 20))
    process = subprocess.Popen([sys.executable, "-m", "shoal", "-1", big], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not writing_into(process.pid, tmp_path) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    if process.poll() is not None:
        pytest.skip("compressed before it could be killed")
    process.kill()
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert os.listdir(tmp_path) == ["big.bin"]                          # no .big.bin.*.shoal-tmp


def test_unnamed_output_is_invisible_until_committed(tmp_path):
    if not atomic._unnamed_files_supported():
        pytest.skip("needs O_TMPFILE and /proc")
    target = tmp_path / "out"
    with atomic.AtomicOutput(str(target), overwrite=False) as output:
        output.write(b"abc")
        output.finish()
        assert output.temp_path is None and os.listdir(tmp_path) == []
        with output.open_written() as back:
            assert back.read() == b"abc"
        target.write_bytes(b"taken meanwhile")                          # the link must not clobber it
        with pytest.raises(FileExistsError):
            output.commit()
    assert target.read_bytes() == b"taken meanwhile" and os.listdir(tmp_path) == ["out"]


# -- --verify -c with a full temporary folder --------------------------------------

def _verify_to_stdout(sample, tmpdir):
    env = dict(os.environ, TMPDIR=str(tmpdir))
    return subprocess.run([sys.executable, "-m", "shoal", "-1", "--verify", "-c", sample],
                          capture_output=True, env=env, timeout=120)


@pytest.mark.skipif(not ROOT, reason="mounting a tmpfs needs root")
def test_verify_to_stdout_with_a_full_tmpdir_names_the_spool_file(tmp_path):
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", tiny], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        sample = tmp_path / "random.bin"
        sample.write_bytes(os.urandom(300_000))                         # its archive will not fit in 64 KiB
        result = _verify_to_stdout(sample, tiny)
        assert result.returncode == 1 and result.stdout == b""
        assert result.stderr.decode() == (f"shoal: {sample}: temporary file for --verify in {tiny}: "
                                          "no space left on device (TMPDIR sets that folder)\n")
        assert os.listdir(tiny) == [] and sample.exists()
    finally:
        subprocess.run(["umount", tiny], capture_output=True)


def test_verify_spool_failure_in_process(sample, monkeypatch, capsys):
    class FullSpool(io.BytesIO):
        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    import tempfile
    monkeypatch.setattr(tempfile, "TemporaryFile", lambda **kwargs: FullSpool())
    assert shoal("--verify", "-c", sample) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"shoal: {sample}: temporary file for --verify in ")
    assert err.endswith(": no space left on device (TMPDIR sets that folder)\n")

    def cannot_create(**kwargs):
        raise OSError(errno.EACCES, os.strerror(errno.EACCES))
    monkeypatch.setattr(tempfile, "TemporaryFile", cannot_create)
    assert shoal("--verify", "-c", sample) == 1
    assert ": permission denied (TMPDIR sets that folder)" in capsys.readouterr().err
