"""A fresh machine in two commands (issue 22): the README's two commands are what .ci/run runs, the
core install needs no torch, Ray or transformers, and the demo compresses the sample the package ships."""
import io
import re
import tomllib
from pathlib import Path

from shoal import demo

REPO = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    """The shell commands of the README's top, above "## Command line": one a code block."""
    top = (REPO / "README.md").read_text(encoding="utf-8").split("## Command line")[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", top, re.S)]


def test_ci_runs_the_readme_commands_as_written():
    commands = readme_commands()
    assert len(commands) == 2 and all("\n" not in c for c in commands)
    assert "pip install . " in commands[0] and "python -m shoal.demo" in commands[0]
    assert "pip install -e '.[test]'" in commands[1] and commands[1].endswith("python -m pytest -q -n 2 --dist loadfile")
    script = [line for line in (REPO / ".ci" / "run").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    assert [line for line in script if line in commands] == commands
    assert script[-2:] == commands                    # and nothing after them


def test_core_install_has_no_heavy_dependencies():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"]).lower()
    for heavy in ("torch", "ray", "transformers", "matplotlib", "scipy", "scikit", "cma"):
        assert heavy not in core
    assert project["requires-python"] == ">=3.11"


def test_the_sample_ships_in_the_package():
    assert demo.SAMPLE.is_file() and demo.SAMPLE.parent.name == "data"
    assert 10_000 < demo.SAMPLE.stat().st_size < 100_000
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "data/*" in package_data["shoal"]


def test_demo_prints_sizes_ratio_bpb_speed_and_checks_the_round_trip(tmp_path):
    """Level 1 on a slice of the sample (one compile of level 1 the first time)."""
    sample = tmp_path / "slice.md"
    sample.write_bytes(demo.SAMPLE.read_bytes()[:4000])
    out = io.StringIO()
    assert demo.run(sample, level=1, out=out) == 0
    text = out.getvalue()
    assert "bytes" in text and "ratio" in text and "bits/byte" in text and "MB/s" in text
    shoal_row = next(line.split() for line in text.splitlines() if line.startswith("shoal -1"))
    size, ratio, bpb = int(shoal_row[2].replace(",", "")), float(shoal_row[3]), float(shoal_row[4])
    assert 0 < size < 4000 and abs(ratio - size / 4000) < 1e-3 and abs(bpb - 8 * ratio) < 8e-3
    assert "round trip: the same bytes, verified" in text


def test_shoal_demo_runs_the_demo(tmp_path, capsys):
    from shoal import cli
    sample = tmp_path / "slice.md"
    sample.write_bytes(demo.SAMPLE.read_bytes()[:2000])
    assert cli.main(["--demo", "-1", str(sample)]) == 0
    assert "round trip: the same bytes" in capsys.readouterr().out
