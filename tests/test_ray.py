"""The Ray backend (shoal/cluster.py, issue 26): --ray codes blocks on Ray
workers, in order, to the same bytes as -T 1; -d, -t, -D and shoal score
--ray too; a worker that dies is retried, and when retries run out the file
fails with a clear message and leaves no output.

One local Ray instance of 2 workers serves the whole module (it takes a few
seconds to start); the command line finds it started and leaves it running.
The tests that kill workers come last: the others find warm workers.
"""
import json
import os
import sys
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

import shoal  # noqa: E402
from shoal import api, blocks, cli, cluster  # noqa: E402

from cli_helpers import shoal as shoal_cli  # noqa: E402   (shoal -1 ARGS, in this process)

GOLDEN = Path(__file__).parent / "golden"
TEXT = b"".join(b"%d fish swim in a school; %d swim alone.\n" % (i, i * 7 % 13) for i in range(3000))
DATA = bytes(range(256)) * 200 + TEXT        # ~170 KB: 3 blocks of 64 KiB, text and binary
DRIVER = os.getpid()


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    # the functions below that stand in for api's in a worker travel by value
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    ray.shutdown()


@pytest.fixture
def submitted(monkeypatch):
    """How many jobs went to Ray workers (counted on the driver)."""
    count = [0]
    real = cluster.RayRunner.submit

    def counting(self, fn, job):
        count[0] += 1
        return real(self, fn, job)
    monkeypatch.setattr(cluster.RayRunner, "submit", counting)
    return count


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") or "shoal-tmp" in p.name)


def test_compress_decompress_and_test_on_ray_give_the_bytes_of_one_thread(tmp_path, submitted):
    source = tmp_path / "big"
    source.write_bytes(DATA)
    assert shoal_cli("-k", "-B", "64K", "-T", "1", "-o", tmp_path / "t1", source) == 0
    assert submitted[0] == 0
    assert shoal_cli("-k", "-B", "64K", "--ray", "-o", tmp_path / "ray", source) == 0
    assert submitted[0] == 3                                  # every block went to a worker
    assert (tmp_path / "ray").read_bytes() == (tmp_path / "t1").read_bytes()
    assert shoal_cli("-d", "--ray", "-o", tmp_path / "back", tmp_path / "ray") == 0
    assert (tmp_path / "back").read_bytes() == DATA
    assert shoal_cli("-t", "--ray", "-M", "1G", tmp_path / "ray") == 0
    assert submitted[0] == 9


def test_one_block_starts_no_task(tmp_path, submitted):
    (tmp_path / "small").write_bytes(TEXT[:5000])
    assert shoal_cli("-k", "--ray", "--verify", tmp_path / "small") == 0
    assert shoal_cli("-d", "--ray", "-c", tmp_path / "small.shoal") == 0
    assert submitted[0] == 0


def test_the_api_takes_a_runner():
    runner = cluster.RayRunner()                 # Ray is up: the runner uses it and leaves it up
    blob = shoal.compress(DATA, 1, block_size=32 << 10, threads=runner)
    assert blob == shoal.compress(DATA, 1, block_size=32 << 10)
    assert shoal.decompress(blob, threads=runner) == DATA
    assert runner.window == 2
    runner.close()
    assert ray.is_initialized()


def test_a_learned_school_reaches_the_workers(tmp_path):
    """-D with --ray: the school file's primer goes to each worker, which
    could not code or decode a block of this school without it."""
    golden = json.loads((GOLDEN / "MANIFEST.json").read_text())
    entry = next(e for e in golden["archives"] if e["file"].startswith("v2-school") and "multiblock" in e["file"])
    original = (GOLDEN / "inputs" / entry["input"]).read_bytes()
    archive = GOLDEN / entry["file"]
    school = GOLDEN / "schools" / entry["made_by"]["options"]["school"]
    assert shoal_cli("-d", "--ray", "-D", school, "-o", tmp_path / "back", archive) == 0
    assert (tmp_path / "back").read_bytes() == original
    (tmp_path / "records").write_bytes(original)
    assert shoal_cli("-k", "--ray", "-D", school, "-B", "1K", tmp_path / "records") == 0
    assert (tmp_path / "records.shoal").read_bytes() == archive.read_bytes()


def test_shoal_score_maps_files_over_ray(tmp_path, capsys):
    for name, data in (("a.txt", TEXT[:20000]), ("b.bin", bytes(range(256)) * 40), ("c.txt", TEXT[-9000:])):
        (tmp_path / name).write_bytes(data)
    args = ["score", "-m", "-1", "-m", "order2:16", "--json", "-", "-q", str(tmp_path)]
    assert cli.main(args) == 0
    alone = json.loads(capsys.readouterr().out)
    assert cli.main(args + ["--ray"]) == 0
    assert json.loads(capsys.readouterr().out) == alone


# -- workers that die (last: they leave fresh workers to start) ----------------------

def dies_in_a_worker(job, marker=None, real=blocks.code_block):
    """blocks.code_block, but a worker process running it dies (os._exit):
    every time, or with marker only the first time."""
    if os.getpid() != DRIVER and (marker is None or not os.path.exists(marker)):
        if marker is not None:
            Path(marker).touch()
        os._exit(1)
    return real(job)


def test_a_worker_that_dies_is_retried(tmp_path, monkeypatch):
    source = tmp_path / "big"
    source.write_bytes(DATA)
    assert shoal_cli("-k", "-B", "64K", "-T", "1", "-o", tmp_path / "t1", source) == 0
    marker = str(tmp_path / "died")
    monkeypatch.setattr(blocks, "code_block", lambda job: dies_in_a_worker(job, marker))
    assert shoal_cli("-k", "-B", "64K", "--ray", "-o", tmp_path / "ray", source) == 0
    assert os.path.exists(marker)                # a worker did die
    assert (tmp_path / "ray").read_bytes() == (tmp_path / "t1").read_bytes()


def test_when_retries_run_out_the_file_fails_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    source = tmp_path / "big"
    source.write_bytes(DATA[:100_000])           # 2 blocks
    monkeypatch.setattr(cluster, "RETRIES", 1)
    monkeypatch.setattr(blocks, "code_block", dies_in_a_worker)
    assert shoal_cli("-B", "64K", "--ray", source) == 1
    err = capsys.readouterr().err
    assert f"shoal: {source}: a Ray worker failed on a block 2 times (retried 1)" in err, err
    assert source.read_bytes() == DATA[:100_000]              # the input stays
    assert not (tmp_path / "big.shoal").exists() and leftovers(tmp_path) == []


def test_an_address_where_nothing_answers_is_refused_at_once():
    """Ray itself would wait for such a cluster without end (and then even a
    signal could not stop shoal): shoal tries the address first."""
    for address, why in (("127.0.0.1:1", "nothing answers there"), ("h:port", "not an address")):
        with pytest.raises(ConnectionError, match=why):
            cluster._reachable(address)
