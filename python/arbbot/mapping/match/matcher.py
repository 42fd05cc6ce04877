"""Cross-venue twins from listings: for each pair of venues, block → check → score → calibrate
(`propose`), then keep each market's best partner per other venue and relation (`assign`).
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Callable

from arbbot.mapping.listings import VENUES, Listing
from arbbot.mapping.match import blocking, scoring, settlement
from arbbot.mapping.match.embedding import embed
from arbbot.mapping.match.features import Features

Progress = Callable[[str, int, int], None]   # (stage, done, total)


@dataclass(frozen=True)
class Assessment:
    verdict: settlement.Verdict
    score: scoring.Score
    confidence: float           # calibrated, [0, 1] (`scoring.confidence`); 0 when the settlement check rejects

    @property
    def reasons(self) -> list[str]:
        if not self.verdict.ok:
            return [f"rejected: {r}" for r in self.verdict.rejects]
        return scoring.reasons(self.score, self.verdict)


@dataclass(frozen=True)
class Pair:
    ids: tuple[str, str, str]   # per listings.VENUES, "" where absent
    relation: str               # same | inverse
    confidence: float
    reasons: tuple[str, ...]


def assess(a: Features, b: Features, cosine: float) -> Assessment:
    verdict = settlement.check(a, b)
    sc = scoring.score(a, b, cosine, verdict)
    return Assessment(verdict, sc, scoring.confidence(sc, verdict) if verdict.ok else 0.0)


@dataclass(frozen=True)
class Proposal:
    a: str                      # venue:id, the earlier venue in listings.VENUES order
    b: str
    assessment: Assessment


def propose(listings: dict[str, list[Listing]], progress: Progress | None = None) -> list[Proposal]:
    """Every blocked candidate pair of active listings on two venues that passes the settlement check."""
    feats = {v: [Features.of(x) for x in listings.get(v, []) if x.active] for v in VENUES}
    vecs = {v: embed([f.embedding_text for f in fs]) for v, fs in feats.items() if fs}
    out: list[Proposal] = []
    for va, vb in combinations(VENUES, 2):
        left, right = feats[va], feats[vb]
        if not left or not right:
            continue
        cands = blocking.candidates(left, right, vecs[va], vecs[vb])
        for n, (i, j) in enumerate(cands, start=1):
            got = assess(left[i], right[j], float(vecs[va][i] @ vecs[vb][j]))
            if got.verdict.ok:
                out.append(Proposal(left[i].name, right[j].name, got))
            if progress and (n % 500 == 0 or n == len(cands)):
                progress(f"{va} × {vb}", n, len(cands))
    return out


def assign(proposals: list[Proposal], min_confidence: float) -> list[Pair]:
    """Greedy by confidence: a market takes at most one partner per other venue and relation;
    pairs under `min_confidence` (or at 0) are dropped."""
    taken: set[tuple[str, str, str]] = set()
    out = []
    kept = [p for p in proposals if p.assessment.confidence >= min_confidence and p.assessment.confidence > 0]
    for p in sorted(kept, key=lambda p: (-p.assessment.confidence, p.a, p.b)):
        rel = p.assessment.verdict.relation
        (va, a), (vb, b) = p.a.split(":", 1), p.b.split(":", 1)
        if (p.a, vb, rel) in taken or (p.b, va, rel) in taken:
            continue
        taken.update({(p.a, vb, rel), (p.b, va, rel)})
        ids = {va: a, vb: b}
        out.append(Pair(tuple(ids.get(v, "") for v in VENUES), rel, p.assessment.confidence,   # type: ignore[arg-type]
                        tuple(p.assessment.reasons)))
    return out


def match(listings: dict[str, list[Listing]], min_confidence: float, progress: Progress | None = None) -> list[Pair]:
    return assign(propose(listings, progress), min_confidence)
