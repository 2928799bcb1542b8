"""What the command-line tests share: running shoal in-process, a level-1
archive and its contents, and watching a child process write and end."""
import io
import os
import signal

from shoal import api, cli, files


def shoal(*args):
    """shoal -1 ARGS..., in this process: its exit status."""
    return cli.main(["-1", *map(str, args)])


def packed(data: bytes) -> bytes:
    """data as a level-1 archive (streamed: the header does not state the size)."""
    out = io.BytesIO()
    files.compress_stream(io.BytesIO(data), out, 1)
    return out.getvalue()


def unpacked(blob: bytes) -> bytes:
    out = io.BytesIO()
    files.decompress_stream(io.BytesIO(blob), out)
    return out.getvalue()


def default_signals():
    """preexec_fn for a child shoal: the signals the tests send get their
    defaults, as at a terminal.  A shell running the tests in the background
    leaves SIGINT ignored, and nohup SIGHUP, and a child would inherit that."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def writing_into(pid, directory) -> bool:
    """Whether process pid has a file open in directory that is not yet
    named there (an unnamed O_TMPFILE output, or a hidden temporary one)."""
    try:
        targets = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    except OSError:
        return False
    return any(t.startswith(f"{directory}/#") or ("shoal-tmp" in t and t.startswith(str(directory)))
               for t in targets)


def shell_status(returncode: int) -> int:
    """What a shell's $? shows for a child's returncode (-N: killed by signal N)."""
    return 128 - returncode if returncode < 0 else returncode
