"""The scaling law L(N, D) = E + A N^-alpha + B D^-beta and its fit.

N is the number of non-embedding parameters, D the number of training bytes,
L the held-out bits per byte.  The fit follows Hoffmann et al. (Chinchilla,
2022, appendix D.2): write each term as an exponential,

    L = exp(e) + exp(a - alpha log N) + exp(b - beta log D),

and fit (e, a, alpha, b, beta) to log L with a robust (Huber) loss, which
keeps every term positive and weighs a 1% miss the same at any scale.  The
objective has many shallow local minima with a few points, so it starts from
several starting points and keeps the best: for fixed exponents the law is
linear in (E, A, B), so a grid over (alpha, beta) with a non-negative linear
solve in each cell gives good starts cheaply (variable projection).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

EXPONENTS = np.linspace(0.02, 1.5, 38)        # the (alpha, beta) grid of the linear pre-fit
STARTS = 8                                     # best grid cells polished by the nonlinear fit
SHORT_SOLVE, LONG_SOLVE = 100, 2000            # function evaluations from each start; for the best
LOWER = (-8.0, -20.0, 0.0, -20.0, 0.0)       # alpha, beta >= 0: more never hurts
UPPER = (5.0, 60.0, 3.0, 60.0, 3.0)
HUBER_DELTA = 1e-3                             # in log L: beyond a 0.1% miss a point counts linearly


@dataclass(frozen=True)
class Law:
    E: float
    A: float
    alpha: float
    B: float
    beta: float

    def __call__(self, N, D):
        N, D = np.asarray(N, dtype=float), np.asarray(D, dtype=float)
        return self.E + self.A * N ** -self.alpha + self.B * D ** -self.beta

    def to_dict(self) -> dict:
        return asdict(self)


def _terms(theta, logN, logD):
    e, a, alpha, b, beta = theta
    return np.stack([np.full_like(logN, e), a - alpha * logN, b - beta * logD])   # log of each term


def _log_model(theta, logN, logD):
    return np.logaddexp.reduce(_terms(theta, logN, logD), axis=0)


def _log_model_jac(theta, logN, logD):
    """d log L / d theta: each term's share of L times its own derivative."""
    t = _terms(theta, logN, logD)
    share = np.exp(t - np.logaddexp.reduce(t, axis=0))
    return np.stack([share[0], share[1], -share[1] * logN, share[2], -share[2] * logD], axis=1)


def _linear_starts(N, D, L):
    """For fixed exponents the law is linear in (E, A, B): solve it with E, A,
    B >= 0 by relative least squares on every cell of an (alpha, beta) grid
    and return the best cells as starting points (e, a, alpha, b, beta)."""
    from scipy.optimize import nnls
    w = 1.0 / L                                 # relative errors, like the log fit
    cells = []
    for alpha in EXPONENTS:
        for beta in EXPONENTS:
            M = np.stack([np.ones_like(N), N ** -alpha, D ** -beta], axis=1)
            coef, norm = nnls(M * w[:, None], L * w)
            cells.append((norm, alpha, beta, coef))
    cells.sort(key=lambda c: c[0])
    floor = 1e-12                               # a zero coefficient becomes a tiny one (its log is finite)
    return [(np.log(max(c[0], floor)), np.log(max(c[1], floor)), alpha, np.log(max(c[2], floor)), beta)
            for _, alpha, beta, c in cells[:STARTS]]


def fit(N, D, L) -> tuple[Law, float]:
    """The law that best fits points (N[i], D[i]) -> L[i]; also the RMS of the
    relative residuals (log L - log fit) of that law."""
    from scipy.optimize import least_squares
    N, D, L = (np.asarray(v, dtype=float) for v in (N, D, L))
    if len(L) < 5:
        raise ValueError(f"a 5-parameter law needs at least 5 points, got {len(L)}")
    logN, logD, logL = np.log(N), np.log(D), np.log(L)

    def residuals(theta):
        return _log_model(theta, logN, logD) - logL

    def jacobian(theta):
        return _log_model_jac(theta, logN, logD)

    def solve(start, evaluations):
        return least_squares(residuals, np.clip(start, LOWER, UPPER), jac=jacobian, bounds=(LOWER, UPPER),
                             loss="huber", f_scale=HUBER_DELTA, x_scale=(1.0, 1.0, 0.1, 1.0, 0.1),
                             max_nfev=evaluations)

    # a short solve from every start, then the best one to convergence (a degenerate set of
    # points sends some starts crawling along a bound: they must not cost the whole budget)
    best = None
    for start in _linear_starts(N, D, L):
        r = solve(start, SHORT_SOLVE)
        if best is None or r.cost < best.cost - 1e-15:     # ties: the first start wins (deterministic)
            best = r
    best = solve(best.x, LONG_SOLVE)
    e, a, alpha, b, beta = best.x
    law = Law(float(np.exp(e)), float(np.exp(a)), float(alpha), float(np.exp(b)), float(beta))
    return law, float(np.sqrt(np.mean(residuals(best.x) ** 2)))


def at_bounds(law: Law) -> list[str]:
    """The parameters the fit pushed onto a bound: the runs do not determine them."""
    theta = (np.log(law.E), np.log(law.A), law.alpha, np.log(law.B), law.beta)
    return [name for name, v, lo, hi in zip(("E", "A", "alpha", "B", "beta"), theta, LOWER, UPPER)
            if min(v - lo, hi - v) < 1e-6]


def jackknife(N, D, L, N_new, D_new) -> list[float]:
    """The prediction at (N_new, D_new) of the law refitted without each point in
    turn: its spread says how much the prediction leans on any one run."""
    N, D, L = (np.asarray(v, dtype=float) for v in (N, D, L))
    keep = np.ones(len(L), dtype=bool)
    out = []
    for i in range(len(L)):
        keep[:] = True
        keep[i] = False
        out.append(float(fit(N[keep], D[keep], L[keep])[0](N_new, D_new)))
    return out
