"""Precision, recall and calibration of the matcher on a labelled set of listing pairs.

Labelled file (JSON lines), one pair a line: `{"id", "split": "tune"|"holdout", "label":
"same"|"inverse"|"different", "trap": "" or the look-alike's kind, "origin", "a": {...}, "b":
{...}}` where `a`/`b` hold `Listing` fields (decimals as strings).

Two measures per split: the settlement check on each labelled pair (is each trap rejected or
flipped, each twin kept), and the whole matcher run over all the split's listings at once
(blocking, scoring, assignment), where a proposed pair is right when labelled with the
proposed relation and any unlabelled pair is wrong: precision and recall at the threshold, and
accuracy per confidence band.

`python -m arbbot.mapping.match.evaluate FILE [--threshold T]... [--fit]` prints a Markdown
report per split; `--fit` first refits `calibration.json` on the `tune` split.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from arbbot.mapping.listings import VENUES, Listing
from arbbot.mapping.match import calibration
from arbbot.mapping.match.embedding import embed
from arbbot.mapping.match.features import Features
from arbbot.mapping.match.matcher import Assessment, assess, assign, propose

BANDS = [(0.9, 1.0), (0.8, 0.9), (0.6, 0.8), (0.4, 0.6), (0.0, 0.4)]   # [lo, hi), the top one closed
_DECIMALS = ("floor_strike", "cap_strike", "line")


@dataclass(frozen=True)
class Labelled:
    id: str
    split: str
    label: str       # same | inverse | different
    trap: str
    a: Listing
    b: Listing


@dataclass(frozen=True)
class Outcome:
    pair: Labelled
    got: Assessment

    @property
    def proposed(self) -> str:
        """The relation proposed, or "different" when the settlement check rejects."""
        return self.got.verdict.relation if self.got.verdict.ok else "different"

    @property
    def right(self) -> bool:
        return self.proposed == self.pair.label


def _listing(raw: dict) -> Listing:
    fields = dict(raw)
    for key in _DECIMALS:
        if fields.get(key) is not None:
            fields[key] = Decimal(str(fields[key]))
    for key in ("outcomes", "tokens"):
        if key in fields:
            fields[key] = tuple(fields[key])
    return Listing(**fields)


def load(path: str | Path) -> list[Labelled]:
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            out.append(Labelled(r["id"], r["split"], r["label"], r.get("trap", ""), _listing(r["a"]), _listing(r["b"])))
    return out


def run(pairs: list[Labelled]) -> list[Outcome]:
    fa = [Features.of(p.a) for p in pairs]
    fb = [Features.of(p.b) for p in pairs]
    va, vb = embed([f.embedding_text for f in fa]), embed([f.embedding_text for f in fb])
    return [Outcome(p, assess(x, y, float(va[i] @ vb[i]))) for i, (p, x, y) in enumerate(zip(pairs, fa, fb))]


def listings_of(pairs: list[Labelled]) -> dict[str, list[Listing]]:
    """The pairs' listings per venue, each market once."""
    out: dict[str, dict[str, Listing]] = {}
    for p in pairs:
        for x in (p.a, p.b):
            out.setdefault(x.venue, {}).setdefault(x.market_id, x)
    return {v: list(xs.values()) for v, xs in out.items()}


@dataclass(frozen=True)
class Labels:
    by_names: dict[frozenset[str], str]       # {venue:id, venue:id} → label
    variants: set[frozenset[str]]              # {question a, question b} of every labelled pair
    questions: dict[str, str]                  # venue:id → its question (title + subtitle)

    def right(self, a: str, b: str, relation: str) -> bool | None:
        """A proposed pair is right when labelled with that relation. An unlabelled pair whose two
        questions read exactly like a labelled pair's (the same questions with other rules) is
        not scored (None); any other unlabelled pair is wrong: the set's questions are distinct
        unless labelled twins."""
        label = self.by_names.get(frozenset((a, b)))
        if label is not None:
            return label == relation
        if frozenset((self.questions[a], self.questions[b])) in self.variants:
            return None
        return False


def _question(x: Listing) -> str:
    return f"{x.venue}|{x.title}|{x.subtitle}"


def labels_of(pairs: list[Labelled]) -> Labels:
    return Labels({frozenset((p.a.name, p.b.name)): p.label for p in pairs},
                  {frozenset((_question(p.a), _question(p.b))) for p in pairs},
                  {x.name: _question(x) for p in pairs for x in (p.a, p.b)})


@dataclass(frozen=True)
class Summary:
    twins: int          # pairs labelled same or inverse
    proposed: int       # pairs the matcher proposes at the threshold
    right: int          # of those, labelled with the proposed relation
    precision: float
    recall: float       # right / twins


def end_to_end(pairs: list[Labelled], threshold: float) -> tuple[Summary, list[tuple[float, bool]]]:
    """Run the matcher over all the pairs' listings at once: the summary at `threshold`, and each
    pair it proposes at any confidence as (confidence, right) for the calibration table (pairs
    `Labels.right` does not score are left out)."""
    labels = labels_of(pairs)
    every = assign(propose(listings_of(pairs)), 0.0)
    scored = []
    for pair in every:
        names = [f"{v}:{i}" for v, i in zip(VENUES, pair.ids) if i]
        right = labels.right(names[0], names[1], pair.relation)
        if right is not None:
            scored.append((pair.confidence, right))
    twins = sum(1 for lab in labels.by_names.values() if lab != "different")
    kept = [r for c, r in scored if c >= threshold]
    right = sum(kept)
    return Summary(twins, len(kept), right, right / len(kept) if kept else 1.0, right / twins if twins else 1.0), scored


def bands(scored: list[tuple[float, bool]]) -> list[tuple[float, float, int, int, float]]:
    """Per band: (lo, hi, pairs proposed with confidence in band, right, mean confidence)."""
    out = []
    for lo, hi in BANDS:
        inside = [(c, r) for c, r in scored if lo <= c and (c < hi or hi == 1.0)]
        mean = sum(c for c, _ in inside) / len(inside) if inside else 0.0
        out.append((lo, hi, len(inside), sum(1 for _, r in inside if r), mean))
    return out


def report(pairs: list[Labelled], thresholds: list[float], title: str) -> str:
    checked = run(pairs)
    traps = [o for o in checked if o.pair.trap]
    caught = sum(1 for o in traps if o.right)
    twins = [o for o in checked if o.pair.label != "different"]
    n_listings = sum(len(x) for x in listings_of(pairs).values())
    lines = [f"**{title}**: {len(pairs)} labelled pairs ({len(twins)} twins, {len(traps)} look-alike traps). "
             f"Settlement check on the labelled pairs: {caught}/{len(traps)} traps rejected or flipped as labelled, "
             f"{sum(o.right for o in twins)}/{len(twins)} twins kept with the labelled relation.", "",
             f"| matcher over all {n_listings} listings | proposed | right | precision | recall |", "|---|---|---|---|---|"]
    scored: list[tuple[float, bool]] = []
    for t in thresholds:
        s, scored = end_to_end(pairs, t)
        lines.append(f"| confidence ≥ {t} | {s.proposed} | {s.right} | {s.precision:.3f} | {s.recall:.3f} |")
    lines += ["", "| confidence band | proposed | right | accuracy | mean confidence |", "|---|---|---|---|---|"]
    for lo, hi, n, r, mean in bands(scored):
        band = f"[{lo:.1f}, {hi:.1f}{']' if hi == 1.0 else ')'}"
        lines.append(f"| {band} | {n} | {r} | {r / n:.3f} | {mean:.3f} |" if n else f"| {band} | 0 | 0 | – | – |")
    return "\n".join(lines)


def refit(pairs: list[Labelled]) -> list[tuple[float, float]]:
    """Calibration steps from every candidate the matcher proposes over the tune split's
    listings (before the one-partner assignment), right when labelled with its relation."""
    tune = [p for p in pairs if p.split == "tune"]
    labels = labels_of(tune)
    scored = [(p.assessment.score.raw, labels.right(p.a, p.b, p.assessment.verdict.relation))
              for p in propose(listings_of(tune))]
    return calibration.fit([raw for raw, r in scored if r is not None], [r for _, r in scored if r is not None])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m arbbot.mapping.match.evaluate", description=__doc__.split("\n")[0])
    ap.add_argument("file")
    ap.add_argument("--threshold", type=float, action="append",
                    help="confidence threshold(s) for precision/recall (default: 0.5 and 0.9)")
    ap.add_argument("--fit", action="store_true", help="refit calibration.json on the tune split first")
    args = ap.parse_args(argv)
    pairs = load(args.file)
    if args.fit:
        print(f"wrote {calibration.write(refit(pairs), f'{Path(args.file).name} split=tune')}")
    for split in ("tune", "holdout"):
        print(report([p for p in pairs if p.split == split], args.threshold or [0.5, 0.9], f"{split} split"), end="\n\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
