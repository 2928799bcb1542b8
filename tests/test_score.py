"""shoal score: exact bits of hand-checkable models, ideal length against real coded size for every
level, Hugging Face scoring against a direct computation from logits, outputs, and bad input."""
import csv
import io
import json
import math
from pathlib import Path

import pytest

from shoal import school
from shoal.score import main as score_main, resolve
from shoal.score.models import CODED_SLACK_BYTES, CODED_TOLERANCE, ShoalModel, coded_size_problem
from shoal.score.report import bucket_edges

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
SMALL = ["canterbury/grammar.lsp", "canterbury/xargs.1", "canterbury/fields.c"]


def run_json(argv, capsys) -> dict:
    assert score_main([*argv, "--json", "-", "-q"]) == 0
    return json.loads(capsys.readouterr().out)


# -- models with bits a person can check -----------------------------------------

def test_uniform_is_eight_bits_a_byte(tmp_path, capsys):
    (tmp_path / "x").write_bytes(b"any bytes at all")
    data = run_json(["uniform", str(tmp_path / "x")], capsys)
    assert data["results"][0]["bits"] == 8 * 16 and data["results"][0]["bpb"] == 8.0


def test_laplace_bits_by_hand(tmp_path, capsys):
    # b"abab": a is new (1/256), b is new (1/257), a seen once in 2 (2/258), b seen once in 3 (2/259).
    (tmp_path / "abab").write_bytes(b"abab")
    expected = math.log2(256) + math.log2(257) + math.log2(258 / 2) + math.log2(259 / 2)
    result = run_json(["laplace", str(tmp_path / "abab")], capsys)["results"][0]
    assert result["bits"] == pytest.approx(expected, rel=1e-12)
    assert result["ratio"] == pytest.approx(expected / 8 / 4, rel=1e-12)        # compressed / original
    assert result["compression_factor"] == pytest.approx(8 / (expected / 4), rel=1e-12)


# -- shoal models: the ideal length and the real coded size agree ----------------------

def _corpus_samples():
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus not present")
    samples = [(name, (CORPUS / name).read_bytes()) for name in SMALL]
    return samples + [("canterbury/kennedy.xls[:8192]", (CORPUS / "canterbury/kennedy.xls").read_bytes()[:8192])]


@pytest.mark.parametrize("level", range(1, 10))
def test_coded_size_agrees_with_ideal_for_every_level(level):
    model = ShoalModel(f"shoal -{level}", school.level(level))
    for name, data in _corpus_samples():
        score = model.score(data)
        ideal = score.bits / 8
        assert abs(score.coded - ideal) <= CODED_TOLERANCE * ideal + CODED_SLACK_BYTES * score.blocks, name
        assert coded_size_problem(score) is None
        assert 0 < score.bpb < 8


def test_blocks_are_scored_like_compress_splits_them():
    spec = {"block_size": 1024, "fish": [{"kind": "order", "arg": 2, "bits": 16}]}
    data = b"the school of fish swims on; " * 150
    score = ShoalModel("tiny blocks", school.from_dict(spec)).score(data)
    assert score.blocks == -(-len(data) // 1024) and score.costs.size == len(data)
    assert coded_size_problem(score) is None


def test_disagreeing_coded_size_is_a_loud_failure(tmp_path, capsys, monkeypatch):
    real = school.score_block
    monkeypatch.setattr(school, "score_block", lambda data, preset: (real(data, preset)[0], 10 * len(data)))
    (tmp_path / "x").write_bytes(b"hello hello hello hello\n" * 20)
    assert score_main(["-1", str(tmp_path / "x"), "-q"]) == 1
    captured = capsys.readouterr()
    assert "CHECK FAILED" in captured.err and "CHECK FAILED" in captured.out


# -- model names ------------------------------------------------------------------------

@pytest.mark.parametrize("spec, fish", [
    ("order2", {"kind": "order", "arg": 2, "bits": 22}),
    ("word1:18", {"kind": "word", "arg": 1, "bits": 18}),
    ("sparse6", {"kind": "sparse", "arg": 6, "bits": 22}),
    ("match", {"kind": "match", "min_len": 6, "bits": 22}),
    ("match4", {"kind": "match", "min_len": 4, "bits": 22}),
    ("column", {"kind": "column"}),
    ("x86.0", {"kind": "x86", "arg": 0, "bits": 22}),
    ("struct2:18", {"kind": "struct", "arg": 2, "bits": 18}),
])
def test_fish_names(spec, fish):
    model = resolve(spec)
    assert model.name == spec and model.preset.spec["fish"] == [fish]


def test_levels_and_presets(tmp_path):
    assert resolve("-6").preset is school.level(6) and resolve("9").name == "shoal -9"
    (tmp_path / "p.yaml").write_text("fish:\n  - {kind: order, arg: 1, bits: 16}\n")
    assert resolve(str(tmp_path / "p.yaml")).preset.spec["fish"][0]["arg"] == 1


# -- outputs ------------------------------------------------------------------------------

def test_table_csv_positions_and_plot(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    text = tmp_path / "in" / "t.txt"
    text.write_bytes(b"a model learns as it reads; " * 40)
    png = tmp_path / "curve.png"
    data = run_json(["-m", "-1", "-m", "order1", str(text), "--by-position", "--plot", str(png)], capsys)
    for result in data["results"]:
        assert sum(b["bits"] for b in result["by_position"]) == pytest.approx(result["bits"])
        assert [b["start"] for b in result["by_position"]] == list(bucket_edges(len(text.read_bytes()))[:-1])
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert score_main(["-1", str(text), "--csv", "-", "-q"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["model"] == "shoal -1" and int(rows[0]["bytes"]) == 1120 and int(rows[0]["coded_bytes"]) > 0
    assert float(rows[0]["ratio"]) * float(rows[0]["compression_factor"]) == pytest.approx(1)
    assert float(rows[0]["ratio"]) == pytest.approx(float(rows[0]["bpb"]) / 8)
    assert score_main(["-1", str(text), str(text.parent), "--by-position", "-q"]) == 0
    table = capsys.readouterr().out
    assert "bpb by position" in table and "total, 2 files" not in table      # the same file twice is one


def widest(text: str) -> int:
    from rich.cells import cell_len
    return max(cell_len(line.rstrip()) for line in text.splitlines())


def test_tables_fit_80_columns_unless_wide(tmp_path, capsys):
    """uniform and laplace (nothing to compile) on two files with long names."""
    folder = tmp_path / "a_folder_with_a_long_name"
    folder.mkdir()
    for name in ("first_file_with_a_long_name.txt", "second_file_with_a_long_name.txt"):
        (folder / name).write_bytes(b"a model learns as it reads; " * 3000)
    argv = ["-m", "uniform", "-m", "laplace", str(folder), "--by-position", "-q"]
    assert score_main(argv) == 0
    out = capsys.readouterr().out
    assert widest(out) <= 80
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if "file, model" in line)
    assert lines[at].split() == ["file,", "model", "bytes", "bpb", "ratio", "bytes"]
    assert lines[at - 1].split() == ["coded"]                                # "coded bytes" on two lines
    assert "\n   uniform " in out and "\n total, 2 files" in out
    assert "ratio = bits / 8 / bytes (compressed / original, as xz -l)" in " ".join(out.split())
    assert "1.0000" in out                                   # uniform: 8 bits a byte, ratio 1
    assert score_main(argv + ["--wide"]) == 0
    wide = capsys.readouterr().out
    assert widest(wide) > 80 and "compression factor" in wide and "coded bpb" in wide


def test_wide_tables_are_split_to_fit():
    from shoal.report_table import Table, split_columns
    models = [f"model number {i}" for i in range(9)]
    table = Table("bpb by position", ["position", "bytes", *models],
                  [["0-128", "128", *["1.2345"] * 9], ["128-256", "128", *["0.5000"] * 9]],
                  notes=["a note"], numeric={"bytes", *models})
    parts = split_columns(table, keep=2, what="models")
    assert [p.title for p in parts] == ["bpb by position, models 1-3 of 9", "bpb by position, models 4-6 of 9",
                                        "bpb by position, models 7-9 of 9"]
    assert all(p.columns[:2] == ["position", "bytes"] and p.rows[1][:2] == ["128-256", "128"] for p in parts)
    assert [c for p in parts for c in p.columns[2:]] == models
    assert [p.notes for p in parts] == [[], [], ["a note"]]
    assert split_columns(Table("small", ["a", "b"], [["1", "2"]]))[0].columns == ["a", "b"]


def test_bucket_edges():
    assert list(bucket_edges(1000)) == [0, 128, 256, 512, 1000]
    assert list(bucket_edges(100)) == [0, 100]
    assert list(bucket_edges(1000, 300)) == [0, 300, 600, 900, 1000]


# -- bad input: one clear line, exit 1 -------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["-6", "/no/such/file"], "no such file or directory"),
    (["-6", "{empty}"], "bits per byte are undefined"),
    (["-6", "{dir}"], "directory has no files"),
    (["-6", "{emptydir}"], "directory has no files to measure (only empty ones)"),
    (["nosuchmodel", "{sample}"], "unknown model 'nosuchmodel'"),
    (["fish.safetensors", "{sample}"], "no such neural fish file"),
    (["{weights}", "{sample}"], "not a safetensors file"),
    (["{wrongdigest}", "{sample}"], "the preset expects " + "0" * 32),
    (["missing.yaml", "{sample}"], "cannot read preset"),
    (["-6"], "give a MODEL and at least one FILE or DIR"),
    (["hf:/no/such/dir", "{sample}"], "no such directory"),
    (["hf:{dir}", "{sample}"], "not a Hugging Face model directory"),
])
def test_bad_input(tmp_path, capsys, argv, message):
    names = {name: tmp_path / name for name in ("empty", "dir", "emptydir", "sample")}
    names["weights"] = tmp_path / "fish.safetensors"
    names["empty"].write_bytes(b"")
    names["dir"].mkdir()
    names["emptydir"].mkdir()
    (names["emptydir"] / "nothing").write_bytes(b"")
    names["sample"].write_bytes(b"some text\n")
    names["weights"].write_bytes(b"not really weights")
    names["wrongdigest"] = tmp_path / "wrong.yaml"
    names["wrongdigest"].write_text("fish: [{kind: neural, file: fish.safetensors, digest: '" + "0" * 32 + "'}]\n")
    assert score_main([a.format(**names) for a in argv]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) <= 2


# -- Hugging Face causal LMs -----------------------------------------------------------------

TEXT = "The quick brown fox jumps over the lazy dog; naïve façades cost 3€. " * 2


@pytest.fixture(scope="module")
def tiny_gpt2(tmp_path_factory):
    """A randomly initialised GPT-2 and a byte-level BPE tokenizer, built and saved here (no download)."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator([TEXT.lower() * 3], trainer)
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<|endoftext|>",
                                                eos_token="<|endoftext|>")
    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=len(fast), n_positions=64, n_embd=32, n_layer=2, n_head=2,
                                     bos_token_id=0, eos_token_id=0)
    model = transformers.GPT2LMHeadModel(config).eval()
    where = tmp_path_factory.mktemp("tiny-gpt2")
    model.save_pretrained(where)
    fast.save_pretrained(where)
    return where, model, fast


def _direct_bits(model, tokenizer, text: str, context: int) -> float:
    """-sum log2 p(token | up to context-1 tokens before it), one forward pass per token."""
    import torch
    ids = [tokenizer.bos_token_id] + tokenizer(text, add_special_tokens=False)["input_ids"]
    nats = 0.0
    with torch.no_grad():
        for j in range(1, len(ids)):
            window = torch.tensor([ids[max(0, j - context + 1):j]])
            logits = model(window).logits[0, -1].double()
            nats -= torch.log_softmax(logits, dim=-1)[ids[j]].item()
    return nats / math.log(2)


def test_hf_bpb_equals_the_logits(tiny_gpt2, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    where, model, tokenizer = tiny_gpt2
    sample = tmp_path / "sample.txt"
    sample.write_text(TEXT, encoding="utf-8")
    size = len(TEXT.encode())                           # bytes, not characters, divide the bits
    assert 16 < len(tokenizer(TEXT)["input_ids"]) < 63
    # The whole text in one window of the model's 64 tokens; then windows of 16 moving 1 at a time.
    for options, context in [([], 64), (["--context", "16", "--stride", "1"], 16)]:
        result = run_json([f"hf:{where}", str(sample), *options], capsys)["results"][0]
        expected = _direct_bits(model, tokenizer, TEXT, context)
        assert result["bytes"] == size
        assert result["bits"] == pytest.approx(expected, rel=1e-6)
        assert result["bpb"] == pytest.approx(expected / size, rel=1e-6)


def test_hf_windows_score_every_token_once():
    from shoal.score.hf import windows
    for n, context, stride in [(1, 8, 4), (8, 8, 4), (9, 8, 4), (100, 16, 5), (100, 16, 15)]:
        plan = windows(n, context, stride)
        targets = [t for _, end, first in plan for t in range(first, end)]
        assert targets == list(range(1, n))
        assert all(end - begin <= context for begin, end, _ in plan)
        assert all(first - begin >= min(first, context - stride) for begin, _, first in plan)


def test_hf_max_bytes_and_positions(tiny_gpt2, capsys):
    where, _, _ = tiny_gpt2
    sample = where.parent / "accents.txt"
    sample.write_text("ééééé", encoding="utf-8")       # 2 bytes a character
    result = run_json([f"hf:{where}", str(sample), "--max-bytes", "5", "--by-position"], capsys)["results"][0]
    assert result["bytes"] == 4                         # the cut fell inside the third character
    assert sum(b["bits"] for b in result["by_position"]) == pytest.approx(result["bits"])


def test_hf_not_a_causal_lm(tmp_path, capsys):
    transformers = pytest.importorskip("transformers")
    transformers.T5Config(d_model=8, num_layers=1, num_heads=1, d_kv=8, d_ff=8).save_pretrained(tmp_path)
    (tmp_path / "sample").write_text("text")
    assert score_main([f"hf:{tmp_path}", str(tmp_path / "sample")]) == 1
    assert "not a causal language model" in capsys.readouterr().err


def test_neural_fish_scores_like_any_fish(tmp_path):
    """A neural fish file is a MODEL: scored through a school of its own,
    its real coded size agrees with its ideal length."""
    from shoal.fish.neural import NeuralConfig
    from shoal.fish.neural.speed import random_tensors
    from shoal.fish.neural.weights import save
    from shoal.score.models import coded_size_problem, resolve
    cfg = NeuralConfig(n_layer=1, n_embd=32, n_head=2, n_kv_head=1, seg_len=8, mem_len=8, mlp_ratio=2)
    save(str(tmp_path / "fish.safetensors"), cfg, random_tensors(cfg, seed=2))
    data = b"a neural fish reads bytes, many lanes at once. " * 30
    for model in (resolve(str(tmp_path / "fish.safetensors")), resolve(str(tmp_path))):
        score = model.score(data)
        assert score.size == len(data) and 0 < score.bpb < 12
        assert coded_size_problem(score) is None
