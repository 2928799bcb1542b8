"""Block index: where each block of a .shoal file lies, so that a reader can
decode any one block alone.

Blocks are independent (each starts from an empty or primed model), so a
seek needs only the block that holds the target.  The index is built in one
pass over the archive that reads every frame and checks its structure and
checksums, but decodes nothing: for a file that is I/O and CRC32 (a few
milliseconds for tens of MB), against about a second per MB to decode.  As
with xz's index, nothing is stored for it: the frames already record each
block's original and coded size.

    index = BlockIndex(fp, memlimit)         # fp: the archive, seekable
    k = index.find(offset)                   # the block holding original byte `offset`
    for start, data in index.decoded(k, threads):   # blocks k, k+1, ... in order
        ...

Every decoded block is checked against its frame's CRC32.  The whole-stream
CRC32 in each end frame is checked only by a reader that reads from the start
(files._DecodedReader before any seek), since a seek skips blocks.
"""
from __future__ import annotations

import bisect
import dataclasses
from dataclasses import dataclass

from .blocks import decode_job, job_cost, ordered_map, with_presets
from .codec import container
from .codec.container import Block
from .errors import ShoalError


@dataclass(frozen=True)
class IndexedBlock:
    start: int          # offset of its first byte in the archive's original (all streams)
    block: Block        # its frame's fields; the payload is left out (payload=b"")
    payload_at: int     # archive offset of its payload
    payload_size: int
    preset: object      # the stream's school.Preset
    need: int           # bytes decoding it takes (its stream's, as blocks.with_presets counts)


class BlockIndex:
    """The blocks of every stream of the archive in seekable file object fp,
    from its position now (the archive's first byte) to its end.  Raises
    ShoalError as reading would (damaged frames, a missing preset or school)
    and MemoryLimitError for a stream over `limit`."""

    def __init__(self, fp, limit: int):
        self._fp = fp
        at = fp.tell()
        self.blocks: list[IndexedBlock] = []
        self.size = 0
        for item, preset, need in with_presets(container.read_items(fp.read), limit):
            if isinstance(item, Block):
                payload_size = len(item.payload)
                # in both forms, a block's bytes end with its payload
                payload_at = at + item.archive_bytes - payload_size
                self.blocks.append(IndexedBlock(self.size, dataclasses.replace(item, payload=b""), payload_at,
                                                payload_size, preset, need))
                self.size += item.size
            at += item.archive_bytes
        self._starts = [b.start for b in self.blocks]

    def find(self, offset: int) -> int:
        """The index of the block that holds original byte `offset`; len(blocks)
        when the offset is at or past the end."""
        if offset >= self.size:
            return len(self.blocks)
        return bisect.bisect_right(self._starts, offset) - 1

    def _job(self, entry: IndexedBlock):
        self._fp.seek(entry.payload_at)
        payload = self._fp.read(entry.payload_size)
        if len(payload) != entry.payload_size:
            raise ShoalError(f"truncated archive: block {entry.block.index}'s payload ends early "
                             "(did the file change while it was read?)")
        return dataclasses.replace(entry.block, payload=payload), entry.preset, entry.need

    def decoded(self, first: int, threads: int, limit: int):
        """(start, original bytes) of blocks first, first+1, ... in order, up to
        `threads` decoded at once within `limit` bytes (as api.decompress)."""
        entries = self.blocks[first:]
        jobs = (self._job(entry) for entry in entries)
        for entry, (_, data) in zip(entries, ordered_map(decode_job, jobs, threads, job_cost, limit)):
            yield entry.start, data
