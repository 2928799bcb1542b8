"""shoal's exceptions, modelled on the standard library's lzma module.

ShoalError (like lzma.LZMAError) is raised for what an archive or a preset
holds: corrupted, truncated, foreign or empty archives, presets this shoal
does not know, an archive that needs more memory than the reader allows
(MemoryLimitError).  Misuse raises what Python raises elsewhere: TypeError
for an argument of the wrong type, ValueError for a bad value or an
operation on a closed file, EOFError for ShoalDecompressor.decompress()
after the end of its stream, and OSError (FileNotFoundError, ...) as it
came from the file system."""


class ShoalError(Exception):
    """What an archive or preset holds is wrong, unknown or beyond a limit."""


_MIB = 1 << 20


def _mib(n: int, round_up: bool) -> str:
    if n < _MIB:
        return f"{n:,} bytes"
    return f"{-(-n // _MIB) if round_up else n // _MIB:,} MiB"


class MemoryLimitError(ShoalError):
    """Decoding an archive would take more memory than the reader's limit
    (memlimit=, the CLI's -M): refused before anything is allocated.

    needed: bytes one block of the stream needs; limit: the limit in bytes."""

    def __init__(self, needed: int, limit: int):
        super().__init__(needed, limit)
        self.needed = needed
        self.limit = limit

    def __str__(self) -> str:
        return (f"archive needs {_mib(self.needed, True)} of memory to decode, "
                f"more than the limit of {_mib(self.limit, False)} (memlimit)")
