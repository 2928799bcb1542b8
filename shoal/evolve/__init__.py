"""shoal evolve: evolution shapes the school.

    shoal evolve school FILE... [options]   CMA-ES over school presets (search.py)
    shoal evolve check PRESET FILE...       an evolved preset against a level on held-back files
    shoal evolve merge ...                  evolutionary merging of neural fish (merge*.py)

The pieces, each a layer over the one before:

  space.yaml, space.py   the search space as data, and the documented map
                         from a CMA-ES vector to a valid preset
  fitness.py             compressed size of the training set, penalised by
                         memory and (a deterministic proxy of) time
  pools.py, ray_pool.py  measure a generation's candidates: in this process,
                         in local worker processes, or on Ray
  search.py              the pycma ask/tell loop, checkpoints, log, best preset
  report.py              progress bar and fitness plot
  options.py             the option types and result-deciding defaults
  cli.py, driver.py      the command line, and the run it drives
  check.py               the acceptance comparison on evaluation files
  timing.py              fits the time proxy (python -m shoal.evolve.timing)

docs/evolve.md explains the space, the mapping, the fitness and how to run
it locally and on a Ray cluster.  Nothing here is imported by compress or
decompress; cma and ray are the `evolve` extra and are imported only when a
command needs them.
"""


def main(argv: list[str]) -> int:
    """`shoal evolve ARGS` (called by shoal.cli.run_tool)."""
    from .cli import main as cli_main
    return cli_main(argv)
