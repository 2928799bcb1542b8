"""shoal: lossless compression by a school of small context-mixing models.

The interface mirrors the standard library's lzma module:

    import shoal
    blob = shoal.compress(data)                  # level 1..9, default 6
    assert shoal.decompress(blob) == data
    with shoal.open("log.txt.shoal", "wt") as f:
        f.write("hello\\n")

What an archive or preset holds that is wrong raises ShoalError; see
shoal/errors.py for the rest.  The archive format is described in
docs/format.md.

The names below are loaded on first use (PEP 562): `import shoal` alone
does not load NumPy and Numba, so the command line can set up its signal
handling before it loads the engine.  `shoal.compress(...)`,
`from shoal import compress` and `from shoal import *` work as usual, and
so does `shoal.school`, `shoal.api`, ... for any submodule.
"""
from importlib import import_module

__version__ = "0.1.0"

# name -> the submodule that defines it
_LAZY = {"compress": "api", "decompress": "api", "open": "files", "ShoalCompressor": "api",
         "ShoalDecompressor": "api", "ShoalFile": "files", "ShoalError": "errors",
         "DEFAULT_LEVEL": "school", "SchoolFile": "school_file"}

__all__ = ["compress", "decompress", "open", "ShoalCompressor", "ShoalDecompressor", "ShoalFile",
           "ShoalError", "DEFAULT_LEVEL", "SchoolFile"]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
    elif not name.startswith("__"):
        # shoal.school, shoal.api, ...: a submodule not imported yet
        try:
            value = import_module(f".{name}", __name__)
        except ModuleNotFoundError as missing:
            if missing.name != f"{__name__}.{name}":
                raise                          # the submodule exists but needs something missing
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
