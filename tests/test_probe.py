"""shoal probe sentiment: the loaders against the row counts of the data's README, the
single-unit finder on planted units, features that do not depend on batching, resume after
an interruption, a tiny end-to-end run, and the command line's errors."""
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from shoal.cli import main as shoal_main
from shoal.errors import ShoalError
from shoal.fish.neural import NeuralConfig
from shoal.probe import data, features, lm, probes
from shoal.probe import main as probe_main
from shoal.train.model import ByteTransformer

ROOT = data.DEFAULT_ROOT


def need_data():
    if not ROOT.is_dir():
        pytest.skip("../shared/corpus/labelled not present")


# -- loaders: the traps of each file (see labelled/README.md) ------------------------

@pytest.mark.parametrize("site", data.KOTZIAS_SITES)
def test_kotzias_has_1000_rows_split_on_the_last_tab(site):
    need_data()
    s = data.kotzias(ROOT, site)
    assert len(s) == 1000 and s.labels.sum() == 500
    assert all("\t" not in t and t == t.strip() for t in s.texts)
    if site == "imdb":                      # two U+0085 (NEL) characters stay inside their sentences
        assert sum(t.count("\x85") for t in s.texts) == 2


def test_rt_polarity_is_cp1252_5331_each():
    need_data()
    s = data.rt_polarity(ROOT)
    assert len(s) == 10662 and s.labels.sum() == 5331
    assert any("\u2026" in t for t in s.texts)          # 0x85 in cp1252 is an ellipsis
    assert not any(t.endswith(" ") for t in s.texts)


def test_sst2_rows():
    need_data()
    dev, train = data.sst2(ROOT, "dev"), data.sst2(ROOT, "train")
    assert (len(dev), dev.labels.sum()) == (872, 444)
    assert (len(train), train.labels.sum()) == (67349, 37569)


def test_blitzer_reviews_and_split():
    need_data()
    reviews = data.blitzer(ROOT)
    assert len(reviews) == 8000 - 147 and len(set(reviews.texts)) == len(reviews)   # duplicates dropped
    # entities unescaped, once: one review was escaped twice at the source (&amp;quot;) and keeps one &quot;
    assert sum("&quot;" in t for t in reviews.texts) == 1 and sum('"' in t for t in reviews.texts) > 100
    train, test = data.split_reviews(reviews, 0.2, seed=1)
    assert len(train) + len(test) == len(reviews) and not set(train.texts) & set(test.texts)
    assert abs(test.labels.mean() - 0.5) < 0.01 and sorted(set(test.groups)) == list(data.DOMAINS)
    again, _ = data.split_reviews(reviews, 0.2, seed=1)
    assert again.texts == train.texts
    stream = data.lm_stream(train.texts, 0, seed=1)
    assert (stream == 0).sum() == len(train)          # one start byte before each review


# -- the probes ----------------------------------------------------------------------

def test_best_unit_finds_the_planted_unit():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 600)
    X = rng.standard_normal((600, 300))
    X[:, 211] -= 1.2 * (2 * y - 1)                     # negative direction: sign -1
    X[:, 7] += 0.3 * (2 * y - 1)                      # a weaker decoy
    unit = probes.best_unit(X, y, chunk=64)
    assert unit["unit"] == 211 and unit["sign"] == -1 and unit["fit_accuracy"] > 0.85
    rule = probes.fit_unit(X[:, 211], y)
    assert probes.accuracy_unit(rule, X[:, 211], y) == pytest.approx(unit["fit_accuracy"])


def test_thresholds_match_brute_force():
    rng = np.random.default_rng(1)
    X = rng.integers(0, 5, (50, 6)).astype(float)      # many ties
    y = rng.integers(0, 2, 50)
    acc, cut, sign = probes.thresholds(X, y)
    for j in range(6):
        cuts = np.concatenate((X[:, j], [X[:, j].min() - 1]))
        brute = max(max(np.mean((X[:, j] > c) == y), np.mean((X[:, j] <= c) == y)) for c in cuts)
        assert acc[j] == pytest.approx(brute)
        assert probes.accuracy_unit((cut[j], sign[j]), X[:, j], y) == pytest.approx(acc[j])


def test_l1_probe_and_bag_of_bytes():
    texts = ["good good", "great", "bad", "awful bad"] * 10
    y = np.array([1, 1, 0, 0] * 10)
    bag = probes.bag_of_bytes(texts, 100)
    assert bag.shape == (40, 256 + 65536)
    assert bag[0, ord("o")] == pytest.approx(4 / 9) and bag[0, 256 + ord("g") * 256 + ord("o")] == pytest.approx(2 / 9)
    assert probes.accuracy_l1(probes.fit_l1(bag, y, seed=1), bag, y) == 1.0
    scaler, clf, C = probes.fit_l1(bag, y, seed=1, search_rows=20)     # C picked on 20 rows, refit on 40
    assert C in probes.C_GRID and probes.accuracy_l1((scaler, clf, C), bag, y) == 1.0


# -- features --------------------------------------------------------------------------

def tiny_model(seed=0):
    torch.manual_seed(seed)
    return ByteTransformer(NeuralConfig(n_layer=2, n_embd=16, n_head=2, seg_len=8, mem_len=8)).eval()


def test_features_do_not_depend_on_batching():
    model = tiny_model()
    texts = ["a short one", "a rather longer text, over several segments of eight bytes", "x", "mid length"]
    one = features.extract(model, texts, 4096, budget=1)          # one text a batch
    all_ = features.extract(model, texts, 4096, budget=10 ** 6)   # all in one padded batch
    for p in features.POOLINGS:
        np.testing.assert_allclose(one[p], all_[p], atol=1e-5)
    # "last" is the units after the text's last byte: check it against a plain forward pass
    taps = features._Taps(model)
    x = torch.tensor([[0, *texts[1].encode()]])
    with torch.no_grad():
        model.stream_logits(x[:, :64])       # 60 bytes: 8 segments; the taps keep the last segment
    taps.close()
    last = taps.units()[0, len(texts[1]) % 8]
    np.testing.assert_allclose(one["last"][1], last.numpy(), atol=1e-5)
    # and the columns are in unit_names' order: resid0.. (the head's input), then mlp1_0..
    np.testing.assert_allclose(last[:16].numpy(), taps.out["resid"][0, len(texts[1]) % 8].numpy())
    assert features.locate(model, 16 + 5) == (model.blocks[1].mlp.obs_post, 5)
    assert one["mean"].shape == (4, 16 + 64) and len(features.unit_names(model)) == 80
    assert features.unit_names(model, [0, 1])[16 + 64] == "mlp1_0"


# -- the LM: interrupted and resumed is the same as straight through -----------------------

def lm_args(out, steps=6):
    return SimpleNamespace(out=str(out), steps=steps, batch=2, segments=2, lr=1e-3, min_lr=1e-4, warmup=2,
                           weight_decay=0.1, clip=1.0, seed=3, checkpoint_every=2, eval_bytes=256)


def no_bar(total, done):
    from contextlib import nullcontext
    return nullcontext(lambda step, text="": None)


def test_lm_resumes_to_the_same_weights(tmp_path):
    cfg = NeuralConfig(n_layer=1, n_embd=16, n_head=2, seg_len=8, mem_len=8)
    stream = np.frombuffer(b"\0this is good.\0that was bad!\0" * 20, dtype=np.uint8)
    straight, _ = lm.load_or_train(lm_args(tmp_path / "a"), cfg, stream, stream, print, no_bar)

    def bar_that_breaks(total, done):          # Ctrl-C after step 3 (a checkpoint was written at 2)
        from contextlib import contextmanager

        @contextmanager
        def cm():
            def update(step, text=""):
                if step == 3:
                    raise KeyboardInterrupt
            yield update
        return cm()
    with pytest.raises(KeyboardInterrupt):
        lm.load_or_train(lm_args(tmp_path / "b"), cfg, stream, stream, print, bar_that_breaks)
    resumed, log = lm.load_or_train(lm_args(tmp_path / "b"), cfg, stream, stream, print, no_bar)
    for (name, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), name
    assert [e["step"] for e in log] == [2, 4, 6]
    with pytest.raises(ShoalError, match="other settings"):
        lm.load_or_train(lm_args(tmp_path / "b", steps=8), cfg, stream, stream, print, no_bar)


# -- end to end, and the command line ------------------------------------------------------

def test_tiny_end_to_end(tmp_path, capsys):
    need_data()
    argv = ["probe", "sentiment", "--out", str(tmp_path / "work"), "--layers", "1", "--width", "16", "--heads", "2",
            "--segment", "32", "--memory", "32", "--steps", "3", "--batch", "2", "--limit", "40",
            "--max-text-bytes", "256", "--folds", "3", "--generate", "8", "--json", str(tmp_path / "r.json"), "--plot", str(tmp_path / "r.png"), "-q"]
    assert shoal_main(argv) == 0
    result = json.loads((tmp_path / "r.json").read_text())
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    tests = {(r["test"], r["protocol"]) for r in result["results"]}
    assert ("sst2/dev", "in-domain") in tests and ("rt_polarity", "transfer") in tests and len(tests) == 11
    for r in result["results"]:
        accuracies = [f"{m}_{p}" for m in ("all_units", "single_unit", "own_unit") for p in features.POOLINGS]
        assert all(0 <= r[k] <= 1 for k in accuracies + ["bag_of_bytes"])
    assert result["headline_pooling"] in features.POOLINGS and result["sets"]["sst2/dev"]["rows"] == 40
    assert result["command"].startswith("shoal probe sentiment --out")
    assert {"none", "positive", "negative"} <= set(result["generated"]["samples"][1])
    assert shoal_main(argv) == 0                      # rerun: the cached LM and features, the same numbers
    assert json.loads((tmp_path / "r.json").read_text())["results"] == result["results"]


def test_help_exits_0(capsys):
    assert probe_main(["sentiment", "--help"]) == 0
    assert "--json" in capsys.readouterr().out
    assert probe_main(["--help"]) == 0


@pytest.mark.parametrize("argv", [["sentiment", "--steps", "0"], ["sentiment", "--bogus"], [],
                                  ["sentiment", "--width", "30", "--heads", "4"], ["sentiment", "--test-frac", "2"], ["sentiment", "--folds", "1"]])
def test_bad_arguments_exit_1_with_one_message(argv, capsys):
    assert probe_main(argv) == 1
    err = capsys.readouterr().err
    # named by the (sub)command whose --help the hint points to: shoal probe, or shoal probe sentiment
    assert err.startswith(("shoal probe: ", "shoal probe sentiment: ")) and "Traceback" not in err
    assert len(err.strip().splitlines()) == 2 and "--help" in err.splitlines()[1]   # the message, then the hint


def test_missing_data_is_a_clean_error(tmp_path, capsys):
    assert probe_main(["sentiment", "--data", str(tmp_path), "--out", str(tmp_path / "w")]) == 1
    assert "not found" in capsys.readouterr().err
