"""The one exception every shoal failure is reported as (like lzma.LZMAError)."""


class ShoalError(Exception):
    """Raised for any failure: bad archive, bad input, bad preset, I/O trouble."""
