"""shoal scaling: the law's fit recovers known exponents; the whole pipeline
runs on a tiny setting; the command line behaves like the other tools."""
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("scipy")

from shoal.scaling import main  # noqa: E402
from shoal.scaling.law import Law, at_bounds, fit, jackknife  # noqa: E402

# byte-level-like values: an entropy floor, and exponents in the range the literature reports
TRUE = Law(E=1.2, A=40.0, alpha=0.35, B=300.0, beta=0.30)
N_GRID = np.logspace(4, 7, 5)          # 10K .. 10M parameters
D_GRID = np.logspace(6, 10, 4)         # 1M .. 10G bytes
NOISE = 0.003                           # 0.3% multiplicative noise on each L
EXPONENT_TOL = 0.03                     # stated tolerances of the recovery
E_TOL = 0.03                            # relative


def synthetic(noise, seed):
    N, D = (g.ravel() for g in np.meshgrid(N_GRID, D_GRID))
    L = TRUE(N, D) * (1 + noise * np.random.default_rng(seed).standard_normal(N.size))
    return N, D, L


def test_fit_is_exact_without_noise():
    law, rms = fit(*synthetic(0.0, 0))
    assert rms < 1e-6 and at_bounds(law) == []
    for name in ("E", "A", "alpha", "B", "beta"):
        assert getattr(law, name) == pytest.approx(getattr(TRUE, name), rel=1e-3), name


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fit_recovers_known_exponents_under_noise(seed):
    N, D, L = synthetic(NOISE, seed)
    law, rms = fit(N, D, L)
    assert abs(law.alpha - TRUE.alpha) < EXPONENT_TOL
    assert abs(law.beta - TRUE.beta) < EXPONENT_TOL
    assert law.E == pytest.approx(TRUE.E, rel=E_TOL)
    assert rms < 2 * NOISE
    # and it extrapolates: 10x beyond the largest N and D, within 1%
    assert law(1e8, 1e11) == pytest.approx(TRUE(1e8, 1e11), rel=0.01)


def test_jackknife_brackets_the_truth():
    N, D, L = synthetic(NOISE, 4)
    spread = jackknife(N, D, L, 1e8, 1e11)
    assert len(spread) == N.size
    assert max(spread) / min(spread) < 1.02


def test_fit_needs_five_points():
    with pytest.raises(ValueError):
        fit([1e4, 1e5], [1e6, 1e7], [3.0, 2.0])


# -- the whole pipeline, tiny --------------------------------------------------------

def tiny_corpus(tmp_path):
    """Two small training files: the package's own source (always present, text and code)."""
    root = Path(__file__).resolve().parents[1] / "shoal"
    source = b"".join(p.read_bytes() for p in sorted(root.rglob("*.py")))
    assert len(source) > 200_000
    files = []
    for i, part in enumerate((source[:100_000], source[100_000:200_000])):
        files.append(tmp_path / f"part{i}.txt")
        files[-1].write_bytes(part)
    return [str(f) for f in files]


TINY = ["--sizes", "16,32", "--budgets", "4K,8K,16K", "--target", "48:32K", "--holdout", "16K",
        "--eval-bytes", "4K", "-q"]


def test_tiny_pipeline(tmp_path, capsys):
    files = tiny_corpus(tmp_path)
    out, js, png = tmp_path / "runs", tmp_path / "scaling.json", tmp_path / "scaling.png"
    assert main(files + TINY + ["--out", str(out), "--json", str(js), "--plot", str(png)]) == 0
    result = json.loads(js.read_text())
    assert len(result["runs"]) == 6 and result["points"] == 6
    assert {r["width"] for r in result["runs"]} == {16, 32}
    assert {r["D"] for r in result["runs"]} == {4096, 8192, 16384}
    t = result["target"]
    assert t["width"] == 48 and t["D"] == 32768 and t["N"] == t["run"]["N"]
    assert 0 < t["predicted"] < 9 and 0 < t["measured"] < 9
    assert t["error_pct"] == pytest.approx(100 * (t["predicted"] / t["measured"] - 1))
    assert t["jackknife"][0] <= t["jackknife"][1]
    assert set(result["law"]) == {"E", "A", "alpha", "B", "beta"}
    assert set(result["at_bounds"]) <= set(result["law"])
    assert json.loads((out / "prediction.json").read_text())["predicted"] == t["predicted"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "target" in capsys.readouterr().out          # the table

    # the runs are cached: --fit-only trains nothing and gives the same numbers; --json - is only JSON
    assert main(files + TINY + ["--out", str(out), "--json", "-", "--fit-only"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["runs"] == result["runs"] and again["target"]["measured"] == t["measured"]
    assert again["target"]["predicted"] == t["predicted"]


# -- the command line ------------------------------------------------------------------

def test_help(capsys):
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    assert "--budgets" in text and "--target" in text and "--fit-only" in text


@pytest.mark.parametrize("argv", [["--sizes", "32,x"], ["--target", "128"], ["--budgets", "1Q"],
                                  ["--sizes", "32", "--budgets", "1M,2M"], ["--sizes", "20,40"],
                                  ["--no-such-option"]])
def test_bad_arguments_fail_with_one_line(argv, capsys):
    assert main(argv) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("shoal scaling: ") and err[1].startswith("Try 'shoal scaling --help'")


def test_fit_only_without_runs(tmp_path, capsys):
    files = tiny_corpus(tmp_path)
    assert main(files + TINY + ["--out", str(tmp_path / "empty"), "--fit-only"]) == 1
    assert "--fit-only" in capsys.readouterr().err


def test_missing_file(tmp_path, capsys):
    assert main([str(tmp_path / "nope.txt"), "-q", "--out", str(tmp_path / "runs")]) == 1
    assert "no such file" in capsys.readouterr().err
