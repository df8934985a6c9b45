"""Joining rules scored against by-eye labels: for each rule, the joins refcli.relink.chains's
greedy pairing would make (best cost first, a piece continues and is continued at most once),
how many of them are wrong (N) or unsure (?), and the hits left (pieces - joins).

    python bench/reid_rules.py OUTDIR/pairs.json bench/data/reid_labels_vtest.json
"""

from __future__ import annotations

import json
import sys


def greedy(rows, accept, cost):
    pairs = sorted((cost(r), r["a"], r["b"], i) for i, r in enumerate(rows) if accept(r))
    after, before, chosen = {}, set(), []
    for _c, a, b, i in pairs:
        if a not in after and b not in before:
            after[a] = b
            before.add(b)
            chosen.append(i + 1)
    return chosen


def max_matching(rows, ok):
    adj = {}
    for i, r in enumerate(rows):
        if ok(i + 1):
            adj.setdefault(r["a"], []).append(r["b"])
    match = {}

    def aug(u, seen):
        for v in adj.get(u, []):
            if v not in seen:
                seen.add(v)
                if v not in match or aug(match[v], seen):
                    match[v] = u
                    return True
        return False

    return sum(aug(u, set()) for u in adj)


def main() -> None:
    data = json.load(open(sys.argv[1]))
    labels = {p: k for k in "YSN?" for p in json.load(open(sys.argv[2]))[k]}
    rows, pieces = data["pairs"], data["pieces"]
    hist_cost = lambda r: r["motion"] + (1 - r["hist"])  # noqa: E731
    rules = {"current: hist>=0.85": (lambda r: r["hist"] >= 0.85, hist_cost)}
    for h in (0.80, 0.75, 0.70):
        rules[f"hist>={h:.2f}"] = (lambda r, h=h: r["hist"] >= h, hist_cost)
    for key in ("cos1", "cos3", "ccos1", "ccos3"):
        for t in ({"cos1": (0.85, 0.88, 0.90), "cos3": (0.85, 0.88, 0.90),
                   "ccos1": (0.40, 0.50, 0.60), "ccos3": (0.40, 0.50, 0.60)}[key]):
            rules[f"{key}>={t:.2f} alone"] = (lambda r, k=key, t=t: r[k] >= t,
                                             lambda r, k=key: r["motion"] + (1 - r[k]))
            for hl in (0.0, 0.4, 0.6, 0.7):
                rules[f"hist>=0.85 OR ({key}>={t:.2f} AND hist>={hl:.1f})"] = (
                    lambda r, k=key, t=t, hl=hl: r["hist"] >= 0.85 or (r[k] >= t and r["hist"] >= hl), hist_cost)
    for w in (0.5,):
        for t in (0.80, 0.82, 0.84, 0.86):
            rules[f"combined {w}*hist+{1 - w}*cos3>={t:.2f}"] = (
                lambda r, w=w, t=t: w * r["hist"] + (1 - w) * r["cos3"] >= t,
                lambda r, w=w: r["motion"] + 1 - (w * r["hist"] + (1 - w) * r["cos3"]))
    print(f"{pieces} pieces; {len(rows)} gated pairs; labels: "
          + ", ".join(f"{k} {sum(v == k for v in labels.values())}" for k in "YSN?"))
    best = max_matching(rows, lambda p: labels[p] in "YS")
    print(f"oracle (every Y/S pair allowed, maximum matching): {best} joins -> {pieces - best} hits")
    print(f"{'rule':58s} {'joins':>5s} {'wrong':>5s} {'unsure':>6s} {'hits':>5s}  wrong/unsure pairs")
    for name, (accept, cost) in rules.items():
        chosen = greedy(rows, accept, cost)
        wrong = [p for p in chosen if labels[p] == "N"]
        unsure = [p for p in chosen if labels[p] == "?"]
        print(f"{name:58s} {len(chosen):5d} {len(wrong):5d} {len(unsure):6d} {pieces - len(chosen):5d}  "
              f"N{wrong} ?{unsure}")
    # how well each cue ranks Y against N over all gated pairs
    for key in ("hist", "cos1", "cos3", "ccos1", "ccos3"):
        ys = sorted(r[key] for i, r in enumerate(rows) if labels[i + 1] == "Y")
        ns = sorted(r[key] for i, r in enumerate(rows) if labels[i + 1] == "N")
        auc = sum((y > n) + 0.5 * (y == n) for y in ys for n in ns) / (len(ys) * len(ns))
        top_n = ns[-1]
        print(f"{key:6s} AUC(Y vs N) {auc:.3f}; highest N {top_n:.3f}; Y above it: "
              f"{sum(y > top_n for y in ys)}/{len(ys)}; Y median {ys[len(ys) // 2]:.3f}, N median "
              f"{ns[len(ns) // 2]:.3f}")


if __name__ == "__main__":
    main()
