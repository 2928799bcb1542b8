"""shoal/zarr.py: the numcodecs codec "shoal", and Zarr arrays stored with it."""
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

numcodecs = pytest.importorskip("numcodecs")
zarr = pytest.importorskip("zarr")

from shoal.codec.container import MAGIC
from shoal.zarr import Shoal

ZARR3 = int(zarr.__version__.split(".")[0]) >= 3
GOLDEN_SCHOOL = os.path.join(os.path.dirname(__file__), "golden", "schools", "records-b0a0c8b8dd5d5862.school")
NAMES = [b"anchovy", b"cod", b"grouper", b"herring", b"sardine"]
# Records like those the golden school's primer holds (tests/golden/inputs/records.json).
RECORDS = b"".join(b'{"id": %d, "name": "%s", "depth_m": %d, "weight_g": %d.%02d, "school": true, '
                   b'"tags": ["coastal"]}\n' % (2000 + i, NAMES[i % 5], i * 37 % 400, i * 7919 % 9000, i % 100)
                   for i in range(20))


def arrays():
    rng = np.random.default_rng(26)
    yield np.arange(1000, dtype=np.uint8)
    yield (np.arange(600, dtype=np.int16) * 7).reshape(20, 30)
    yield np.cumsum(rng.normal(size=(4, 5, 6)))
    yield np.asfortranarray(rng.random((8, 9), dtype=np.float32))
    yield np.array([b"cod", b"eel", b"ray"], dtype="S3")
    yield rng.random(50) > 0.5
    yield np.zeros(0, dtype=np.float64)


@pytest.mark.parametrize("array", list(arrays()), ids=lambda a: f"{a.dtype}{a.shape}")
def test_the_codec_round_trips_the_bytes_of_any_array(array):
    codec = Shoal(level=1)
    blob = codec.encode(array)
    assert bytes(blob[:len(MAGIC)]) == MAGIC
    assert bytes(codec.decode(blob)) == array.tobytes(order="A")


def test_decode_writes_into_out():
    array = (np.arange(300, dtype=np.int32) ** 2).reshape(10, 30)
    codec = Shoal(level=1)
    out = np.empty_like(array)
    assert codec.decode(codec.encode(array), out=out) is out
    assert np.array_equal(out, array)
    raw = bytearray(array.nbytes)
    codec.decode(codec.encode(array), out=raw)
    assert bytes(raw) == array.tobytes()


def test_the_config_round_trips_and_numcodecs_finds_the_codec_by_id():
    codec = Shoal(level=3, school="logs.school", threads=2)
    config = codec.get_config()
    assert config == {"id": "shoal", "level": 3, "school": "logs.school"}     # threads: not stored
    again = numcodecs.get_codec(dict(config))
    assert isinstance(again, Shoal) and again == codec
    assert numcodecs.get_codec({"id": "shoal", "level": 3}) == Shoal(level=3)
    assert Shoal().get_config() == {"id": "shoal", "level": 6, "school": None}


@pytest.mark.skipif(not ZARR3, reason="the zarr codec needs zarr >= 3")
def test_the_zarr3_codec_round_trips_its_metadata_and_pickles():
    import pickle
    from shoal.zarr import ShoalCodec
    codec = ShoalCodec(level=3, school="logs.school")
    assert codec.to_dict() == {"name": "numcodecs.shoal", "configuration": {"level": 3, "school": "logs.school"}}
    assert ShoalCodec.from_dict(codec.to_dict()) == codec
    assert zarr.registry.get_codec_class("numcodecs.shoal") is ShoalCodec
    assert pickle.loads(pickle.dumps(codec)) == codec       # Dask ships codecs to its workers so
    assert pickle.loads(pickle.dumps(Shoal(level=3))) == Shoal(level=3)


@pytest.mark.parametrize("bad", [0, 10, -1, "6", 6.0, True, None])
def test_a_bad_level_is_a_value_error(bad):
    with pytest.raises(ValueError, match="level must be an integer 1..9"):
        Shoal(level=bad)
    if ZARR3:
        from shoal.zarr import ShoalCodec
        with pytest.raises(ValueError, match="level must be an integer 1..9"):
            ShoalCodec(level=bad)


def test_other_bad_arguments_are_value_errors():
    with pytest.raises(ValueError, match="school must be a school file's path"):
        Shoal(school=b"logs.school")
    with pytest.raises(ValueError, match="threads must be an integer >= 0"):
        Shoal(threads=-1)


def test_a_school_file_codes_the_chunks_it_was_learned_for():
    data = np.frombuffer(RECORDS, dtype=np.uint8)
    codec = Shoal(school=GOLDEN_SCHOOL)
    blob = codec.encode(data)
    assert blob[7] & 3 == 2                                  # identity kind 2: named by a school file
    assert len(blob) < 0.7 * len(Shoal(level=6).encode(data))
    assert bytes(codec.decode(blob)) == RECORDS
    assert numcodecs.get_codec(codec.get_config()).school == GOLDEN_SCHOOL


def _compressors(zarr_format, **config):
    if zarr_format == 2:
        return Shoal(**config)
    from shoal.zarr import ShoalCodec
    return [ShoalCodec(**config)]


def _write(path, array, zarr_format, chunks, **config):
    if not ZARR3:           # zarr 2 writes format 2 only, and takes one compressor
        z = zarr.open_array(str(path), mode="w", shape=array.shape, chunks=chunks, dtype=array.dtype,
                            compressor=Shoal(**config))
        z[...] = array
        return z
    z = zarr.create_array(str(path), shape=array.shape, chunks=chunks, dtype=array.dtype,
                          compressors=_compressors(zarr_format, **config), zarr_format=zarr_format)
    z[...] = array
    return z


def _chunk_files(path):
    names = {".zarray", ".zattrs", ".zgroup", "zarr.json"}
    return [os.path.join(root, name) for root, _, files in os.walk(path) for name in files if name not in names]


FORMATS = [2, pytest.param(3, marks=pytest.mark.skipif(not ZARR3, reason="zarr format 3 needs zarr >= 3"))]


@pytest.mark.parametrize("zarr_format", FORMATS)
def test_a_zarr_array_stores_its_chunks_as_shoal_archives(tmp_path, zarr_format):
    array = np.cumsum(np.random.default_rng(5).normal(size=(30, 45)), axis=1)      # edge chunks are partial
    _write(tmp_path / "a.zarr", array, zarr_format, chunks=(16, 16), level=1)
    back = zarr.open_array(str(tmp_path / "a.zarr"), mode="r")
    assert back.dtype == array.dtype and back[...].tobytes() == array.tobytes()
    chunks = _chunk_files(tmp_path / "a.zarr")
    assert len(chunks) == 2 * 3
    for name in chunks:
        with open(name, "rb") as f:
            assert f.read(len(MAGIC)) == MAGIC, name


def test_a_zarr_array_decodes_in_a_fresh_process(tmp_path):
    """The reader is a new Python that has imported nothing of shoal: the
    format-2 array finds the codec by the numcodecs entry point, the
    format-3 one by zarr's (pyproject.toml); the school-coded one finds its
    school, moved away from the path the config names, in $SHOAL_SCHOOL_PATH."""
    ints = (np.arange(2400, dtype=np.int32) * 3 - 1000).reshape(40, 60)
    records = np.frombuffer(RECORDS, dtype=np.uint8)
    written, shelf = tmp_path / "written", tmp_path / "shelf"
    written.mkdir()
    shelf.mkdir()
    school = str(written / "records.school")
    shutil.copy(GOLDEN_SCHOOL, school)
    _write(tmp_path / "v2.zarr", ints, 2, chunks=(20, 25), level=1)
    _write(tmp_path / "school.zarr", records, 2, chunks=(1000,), school=school)
    if ZARR3:
        _write(tmp_path / "v3.zarr", ints, 3, chunks=(20, 25), level=1)
    shutil.move(school, shelf / "records.school")
    reader = textwrap.dedent("""
        import sys, numcodecs, zarr
        assert "shoal" not in sys.modules
        for name in sys.argv[1:]:
            sys.stdout.buffer.write(zarr.open_array(name, mode="r")[...].tobytes())
        assert "shoal.zarr" in sys.modules          # loaded by an entry point
        assert type(numcodecs.get_codec({"id": "shoal", "level": 3})).__module__ == "shoal.zarr"
        """)
    env = dict(os.environ, SHOAL_SCHOOL_PATH=str(shelf))
    out = b""
    # numcodecs' entry point finds the codec of format-2 arrays, zarr's that of format-3 ones
    for arrays in (["v2.zarr", "school.zarr"], ["v3.zarr"] if ZARR3 else []):
        if arrays:
            done = subprocess.run([sys.executable, "-c", reader, *arrays], cwd=tmp_path, env=env,
                                  capture_output=True, timeout=300)
            assert done.returncode == 0, done.stderr.decode()
            out += done.stdout
    assert out == ints.tobytes() + RECORDS + (ints.tobytes() if ZARR3 else b"")
