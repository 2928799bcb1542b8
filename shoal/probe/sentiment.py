"""shoal probe sentiment: the experiment (cli.py's epilog lists the steps).

Where each probe is fit, and why:
  amazon/test   fit on amazon/train: the reviews the LM was trained on, the
                paper's setting (the unit is found here)
  sst2/dev      fit on sst2/train, all 67,349 rows, phrases included: GLUE's
                standard training set; dev holds whole sentences only, so
                nothing of dev is in it
  rt_polarity   10-fold cross-validation (MR has no split; the paper did the
                same); never fit on SST-2, which shares its sentences
  kotzias/*     10-fold cross-validation within each site
and, as a second table, every set tested whole with the probes fit on
amazon/train only (transfer: no labelled text of that set is seen).

The headline pooling (mean or last) is the one whose all-units probe scores
better on the Amazon validation tenth: chosen before any test set is read.
"""
from __future__ import annotations

import json
import shlex

import numpy as np
import torch

from ..fish.neural import START_BYTE, NeuralConfig
from ..report_table import Table, console, to_rich, write_text
from . import data, features, lm, probes
from .ui import Ui

FIT = {"amazon/test": "amazon/train", "sst2/dev": "sst2/train"}     # the others: cross-validation
METHODS = ("all_units", "single_unit", "own_unit")


def model_config(args) -> NeuralConfig:
    return NeuralConfig(n_layer=args.layers, n_embd=args.width, n_head=args.heads, seg_len=args.segment,
                        mem_len=args.memory, mlp_ratio=args.mlp_ratio)


def prepare(args, ui: Ui):
    """The Amazon split and the trained LM."""
    torch.set_num_threads(args.threads)
    reviews = data.blitzer(args.data)
    train, test = data.split_reviews(reviews, args.test_frac, args.seed)
    stream = data.lm_stream(train.texts, START_BYTE, args.seed)
    held = data.lm_stream(test.texts, START_BYTE, args.seed)
    model, log = lm.load_or_train(args, model_config(args), stream, held, ui.say, ui.training_bar)
    return train, test, model, log


def limited(s: data.Labelled, limit, seed) -> data.Labelled:
    """At most limit texts, half of each label where it can (--limit: quick runs)."""
    if not limit or len(s) <= limit:
        return s
    rng, keep = np.random.default_rng(seed), []
    for label in (0, 1):
        members = np.flatnonzero(s.labels == label)
        keep += rng.permutation(members)[:limit // 2 + label * (limit % 2)].tolist()
    return s.subset(sorted(keep))


def load_sets(args, train, test) -> dict:
    sets = [train, test, data.sst2(args.data, "train"), data.sst2(args.data, "dev"), data.rt_polarity(args.data)]
    sets += [data.kotzias(args.data, site) for site in data.KOTZIAS_SITES]
    return {s.name: limited(s, args.limit, args.seed) for s in sets}


def fit_probes(X, y, unit, seed) -> dict:
    """The three probes on the units X (one pooling), fit on labels y."""
    own = probes.best_unit(X, y)["unit"]
    return {"all_units": probes.fit_l1(X, y, seed), "single_unit": (unit, probes.fit_unit(X[:, unit], y)),
            "own_unit": (own, probes.fit_unit(X[:, own], y))}


def test_probes(fitted, X, y) -> dict:
    return {"all_units": probes.accuracy_l1(fitted["all_units"], X, y),
            **{k: probes.accuracy_unit(fitted[k][1], X[:, fitted[k][0]], y) for k in ("single_unit", "own_unit")}}


def plan(args, sets) -> list[tuple[str, str, str]]:
    """(test set, protocol, what it is fit on) for every row of the tables."""
    rows = []
    for name in [n for n in sets if n not in ("amazon/train", "sst2/train")]:
        rows.append((name, "in-domain", FIT.get(name, f"{args.folds}-fold CV")))
        if name != "amazon/test":            # its in-domain fit is already the Amazon fit
            rows.append((name, "transfer", "amazon/train"))
    return rows


def experiment(args, sets, feats, bags, units, ui) -> list[dict]:
    """One row per (test set, protocol); accuracies over all its rows (for
    cross-validation: correct answers summed over the folds)."""
    memo, rows, done = {}, [], 0
    todo = plan(args, sets)
    work = sum(3 * (args.folds if fit.endswith("CV") else 1) for _, _, fit in todo)   # 2 poolings + bytes

    def fitted(fit_name, pooling):           # a whole-set fit is reused by every set it is tested on
        if (fit_name, pooling) not in memo:
            y = sets[fit_name].labels
            memo[fit_name, pooling] = (probes.fit_l1(bags[fit_name], y, args.seed) if pooling == "bag" else
                                       fit_probes(feats[fit_name][pooling], y, units[pooling]["unit"], args.seed))
        return memo[fit_name, pooling]

    with ui.bar("probing", work) as update:
        def tick(n=1):
            nonlocal done
            done += n
            update(done, f"{name} ({protocol})")
        for name, protocol, fit_name in todo:
            ui.say(f"probing {name} ({protocol}, fit: {fit_name})")
            y = sets[name].labels
            row = {"test": name, "protocol": protocol, "fit": fit_name, "rows": len(y)}
            cv = probes.folds(y, args.seed, args.folds) if fit_name.endswith("CV") else None
            for pooling in features.POOLINGS:
                X = feats[name][pooling]
                if cv is None:
                    scores = test_probes(fitted(fit_name, pooling), X, y)
                    row[f"C_{pooling}"] = fitted(fit_name, pooling)["all_units"][2]
                    tick()
                else:
                    correct, row[f"C_{pooling}"] = {m: 0.0 for m in METHODS}, []
                    for tr, te in cv:
                        fit = fit_probes(X[tr], y[tr], units[pooling]["unit"], args.seed)
                        fold = test_probes(fit, X[te], y[te])
                        row[f"C_{pooling}"].append(fit["all_units"][2])
                        for m in METHODS:
                            correct[m] += fold[m] * len(te)
                        tick()
                    scores = {m: c / len(y) for m, c in correct.items()}
                row.update({f"{m}_{pooling}": scores[m] for m in METHODS})
            if cv is None:
                row["bag_of_bytes"] = probes.accuracy_l1(fitted(fit_name, "bag"), bags[name], y)
                tick()
            else:
                correct = 0.0
                for tr, te in cv:
                    correct += probes.accuracy_l1(probes.fit_l1(bags[name][tr], y[tr], args.seed),
                                                  bags[name][te], y[te]) * len(te)
                    tick()
                row["bag_of_bytes"] = correct / len(y)
            rows.append(row)
    return rows


def run(args, argv) -> dict:
    ui = Ui(args.quiet)
    train, test, model, log = prepare(args, ui)
    sets = load_sets(args, train, test)
    folder = f"{args.out}/features"
    layers = list(range(args.layers)) if args.mlp_units == "all" else None     # None: the last block's
    feats, bags = {}, {}
    total = sum(len(s) for s in sets.values())
    with ui.bar("reading units", total) as update:
        done = 0
        for name, s in sets.items():
            ui.say(f"reading the units over {name} ({len(s):,} texts)")

            def advance(n):
                nonlocal done
                done += n
                update(done, name)
            feats[name] = features.cached(model, s.texts, args.max_text_bytes, folder, name, advance, layers)
            bags[name] = probes.bag_of_bytes(s.texts, args.max_text_bytes)
    names = features.unit_names(model, layers)
    units, validation = {}, {}
    y = sets["amazon/train"].labels
    for pooling in features.POOLINGS:
        X = feats["amazon/train"][pooling]
        unit = probes.best_unit(X, y)
        scaler, clf, C, val = probes.fit_l1(X, y, args.seed, with_score=True)
        weights = np.abs(clf.coef_[0])          # l1_rank: None when the L1 probe gives the unit no weight
        rank = int((weights > weights[unit["unit"]]).sum()) + 1 if weights[unit["unit"]] > 0 else None
        unit.update(name=names[unit["unit"]], l1_rank=rank,
                    largest_weight_unit=names[int(weights.argmax())], l1_nonzero=int((weights > 0).sum()), l1_C=C)
        units[pooling], validation[pooling] = unit, val
        ui.say(f"{pooling}: the single unit is {unit['name']} ({unit['fit_accuracy']:.1%} on amazon/train); "
               f"all units {val:.1%} on the Amazon validation tenth")
    headline = max(features.POOLINGS, key=lambda p: (validation[p], p == "mean"))
    rows = experiment(args, sets, feats, bags, units, ui)
    result = {"command": "shoal probe " + shlex.join(argv),
              "settings": {k: v for k, v in vars(args).items() if k not in ("quiet", "json", "plot")},
              "lm": {"config": json.loads(model.cfg.to_json()), "parameters": sum(p.numel() for p in model.parameters()),
                     "log": log, "held_out_bpb": log[-1]["held_out_bpb"] if log else None},
              "sets": {n: {"rows": len(s), "positive": int(s.labels.sum())} for n, s in sets.items()},
              "units": units, "amazon_validation": validation, "headline_pooling": headline, "results": rows}
    if args.plot:
        from .plot import plot
        plot(result, sets, feats, args.plot)
        ui.say(f"plot written to {args.plot}")
    if args.generate:
        from .generate import byte_range, clamped
        u = units[headline]
        ends = byte_range(model, u["unit"], train.texts[:100], layers)[::u["sign"]]     # (low, high); reversed: sign -1
        values = {"positive": ends[1], "negative": ends[0]}
        ui.say(f"sampling {args.generate} bytes with {u['name']} clamped to {values}")
        result["generated"] = {"unit": u["name"], "values": values,
                               "samples": clamped(model, u, values, args.generate, args.seed, layers)}
    emit(result, args)
    return result


def table(result, protocol) -> Table:
    h = result["headline_pooling"]
    other = "last" if h == "mean" else "mean"
    columns = ["test set", "rows", "fit on", f"all units ({h})", f"single unit ({h})", f"all units ({other})",
               f"single unit ({other})", f"own best unit ({h})", "bag of bytes"]
    t = Table(f"sentiment accuracy, {protocol}", columns, numeric=set(columns[3:]) | {"rows"})
    for r in result["results"]:
        if r["protocol"] == protocol or (protocol == "transfer" and r["test"] == "amazon/test"):
            t.add([r["test"], f"{r['rows']:,}", r["fit"]] + [f"{100 * r[k]:.1f}%" for k in (
                f"all_units_{h}", f"single_unit_{h}", f"all_units_{other}", f"single_unit_{other}", f"own_unit_{h}",
                "bag_of_bytes")])
    return t


def emit(result, args) -> None:
    if args.json:
        write_text(args.json, json.dumps(result, indent=1) + "\n")
    if args.json != "-":
        out = console()
        for protocol in ("in-domain", "transfer"):
            out.print(to_rich(table(result, protocol)))
        for pooling, u in result["units"].items():
            weight = (f"rank {u['l1_rank']} of {u['l1_nonzero']} units by |weight| in the L1 probe" if u["l1_rank"]
                      else f"weight 0 in the L1 probe, which uses {u['l1_nonzero']} units")
            out.print(f"{pooling}: single unit {u['name']} ({u['fit_accuracy']:.1%} on amazon/train; {weight})")
