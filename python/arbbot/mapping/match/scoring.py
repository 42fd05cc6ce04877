"""Raw similarity of two listings in [0, 1]: fuzzy title and rules text, embedding cosine, and
the settlement check's agreements and cautions. Not a probability: `calibration` maps it to one,
and `confidence` caps that for a pair with a caution.
"""
from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz

from arbbot.mapping.match import calibration
from arbbot.mapping.match.features import Features
from arbbot.mapping.match.normalize import normalize
from arbbot.mapping.match.settlement import Verdict
from arbbot.mapping.match.teams import canonical_teams

W_TITLE, W_EMBED, W_RULES = 0.45, 0.35, 0.20   # weights of the three similarities (sum 1)
AGREEMENT_BONUS, MAX_BONUS = 0.04, 0.12        # per structured field that matches, capped
CAUTION_PENALTY = 0.10                          # per field stated on one side only
# a cautioned pair's highest confidence: under the default auto_approve_confidence (0.95), so a
# person reviews it before a session trades it (the calibration's top step alone is ≈ 0.97)
CAUTION_CAP = 0.9
RULES_CHARS = 600                               # rules compared on their first 600 characters


@dataclass(frozen=True)
class Score:
    raw: float          # [0, 1]
    title: float        # rapidfuzz token-set ratio of the normalised questions (teams as codes), [0, 1]
    embed: float        # cosine of the question embeddings, [-1, 1]
    rules: float | None # token-set ratio of the rules, None when a side has none


def score(a: Features, b: Features, cosine: float, verdict: Verdict) -> Score:
    title = fuzz.token_set_ratio(normalize(canonical_teams(a.text, a.league)),
                                 normalize(canonical_teams(b.text, b.league))) / 100.0
    rules = None
    if a.rules and b.rules:
        rules = fuzz.token_set_ratio(normalize(a.rules[:RULES_CHARS]), normalize(b.rules[:RULES_CHARS])) / 100.0
    if rules is None:   # the rules' weight goes to the other two, in proportion
        base = (W_TITLE * title + W_EMBED * max(cosine, 0.0)) / (W_TITLE + W_EMBED)
    else:
        base = W_TITLE * title + W_EMBED * max(cosine, 0.0) + W_RULES * rules
    bonus = min(MAX_BONUS, AGREEMENT_BONUS * len(verdict.agreements))
    raw = base + bonus - CAUTION_PENALTY * len(verdict.cautions)
    return Score(min(1.0, max(0.0, raw)), title, cosine, rules)


def confidence(score: Score, verdict: Verdict) -> float:
    """The calibrated confidence of a pair the settlement check passed, at most CAUTION_CAP when
    it has a caution (a field on one side only may settle differently)."""
    calibrated = calibration.confidence(score.raw)
    return min(calibrated, CAUTION_CAP) if verdict.cautions else calibrated


def reasons(score: Score, verdict: Verdict) -> list[str]:
    """What the pair's confidence rests on, for a person reviewing it."""
    out = [f"title similarity {score.title:.2f}", f"embedding cosine {score.embed:.2f}"]
    if score.rules is not None:
        out.append(f"rules similarity {score.rules:.2f}")
    return out + verdict.agreements + [f"caution: {c}" for c in verdict.cautions]
