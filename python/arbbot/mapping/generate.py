"""Relations and cross-venue twins generated from a running session's discovered listings.

The session reads each venue adapter's `listing_bodies()` (the discovery's own API bodies) with
`arbbot.mapping.listings`, so a live session and `arbbot rules` / `arbbot map` on saved files
derive the same things from the same bodies:
- **structural rules** (`arbbot.mapping.rules.derive_relations`: buckets, complements,
  implications) are cheap (under a millisecond for the demo, linear in markets) and are derived
  at discovery;
- **cross-venue twins** (`arbbot.mapping.match`: blocking, fuzzy titles, static embeddings,
  settlement checks) cost more (≈0.2 s for the demo, tens of seconds and hundreds of MiB for
  thousands of markets per venue), so the session runs `generated_mappings` in a worker process
  while books stream (`generated_mappings_in_worker`): the matching neither holds the event
  loop's GIL nor leaves its working set in the bot.
  Its result is cached on disk under a hash of the listings (`listings_digest`): a restart on
  unchanged listings reuses it, changed listings are matched again.

Generated rows are unreviewed (`approved` blank): a session trades them under the same rule as
a user's unreviewed rows (`table.trade_selection`: at ≥ `auto_approve_confidence` on paper,
never with `--live`). A user's mapping CSV wins (`merge_mappings`).
"""
from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
from pathlib import Path

from arbbot.files import write_atomic
from arbbot import logs
from arbbot.mapping.listings import VENUES, Listing, ListingError, listings_from_bodies
from arbbot.mapping.table import RELATIONS, MappingRow

log = logs.get("mapping")

# Bumped when the matcher's output for equal listings changes: the cache is keyed by it (through
# `listings_digest`), so twins an older matcher cached are matched again. /2: league titles, four
# leagues' teams, game days, player sides (session 9). /3: negation, timing, time of day, signed
# thresholds, void rules; a cautioned pair capped under auto-approval.
GENERATOR = "arbbot.generated-mappings/3"
# the same row shape: older recordings replay
READABLE = frozenset({"arbbot.generated-mappings/1", "arbbot.generated-mappings/2", GENERATOR})
MIN_CONFIDENCE = 0.5                         # rows kept (and reported); trading needs auto-approval on top


def session_listings(venues: dict) -> dict[str, list[Listing]]:
    """venue name → its listings, from each adapter's `listing_bodies()` (venues without that
    method contribute none: the session still runs on what the adapters stated)."""
    return bodies_listings({name: venue.listing_bodies() for name, venue in venues.items()
                            if getattr(venue, "listing_bodies", None) is not None})


def bodies_listings(bodies: dict[str, list]) -> dict[str, list[Listing]]:
    """venue name → its listings, from its discovery's listing bodies (a venue whose bodies cannot
    be read contributes none)."""
    out: dict[str, list[Listing]] = {}
    for name, venue_bodies in bodies.items():
        if name not in VENUES:
            continue
        try:
            out[name] = listings_from_bodies(name, venue_bodies, source=f"{name} discovery")
        except ListingError as exc:
            log.warning("listings.unreadable", venue=name, error=str(exc))
    return out


def listings_digest(listings: dict[str, list[Listing]]) -> str:
    """SHA-256 (hex) of the listings' content (every field but the file they came from) and of
    the generator's version and calibration: equal digests → equal generated mappings."""
    from arbbot.mapping.match import calibration
    h = hashlib.sha256()
    h.update(json.dumps([GENERATOR, calibration.shipped()]).encode())
    for venue in sorted(listings):
        for listing in sorted(listings[venue], key=lambda x: x.market_id):
            fields = dataclasses.asdict(listing)
            fields.pop("source")
            h.update(json.dumps(fields, sort_keys=True, default=str).encode())
    return h.hexdigest()


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/arbbot/mappings` (else `~/.cache/arbbot/mappings`)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "arbbot" / "mappings"


@dataclasses.dataclass(frozen=True)
class Generated:
    rows: list[MappingRow]        # proposed twins, best first, approved blank
    digest: str                   # listings_digest of what they were generated from
    cached: bool                  # read from the cache instead of matched now


def generated_mappings(listings: dict[str, list[Listing]], cache_dir: Path | None = None) -> Generated:
    """Cross-venue twins at confidence ≥ MIN_CONFIDENCE, from the cache when the listings are
    unchanged. Blocking (run it in a worker thread). `cache_dir` None = no cache."""
    from arbbot.mapping.match.matcher import match
    digest = listings_digest(listings)
    path = cache_dir / f"{digest}.json" if cache_dir is not None else None
    if path is not None and path.is_file():
        try:
            return Generated(rows_from_json(json.loads(path.read_text(encoding="utf-8"))), digest, True)
        except (OSError, ValueError, KeyError, TypeError) as exc:     # a damaged cache is matched again
            log.warning("mappings.cache_unreadable", path=str(path), error=str(exc))
    rows = [MappingRow(p.ids, p.relation, round(p.confidence * 1_000_000), None, "; ".join(p.reasons))
            for p in match(listings, MIN_CONFIDENCE)]
    if path is not None:
        _write_cache(path, digest, rows)
    return Generated(rows, digest, False)


async def generated_mappings_in_worker(listings: dict[str, list[Listing]],
                                       cache_dir: Path | None = None) -> Generated:
    """`generated_mappings` in a worker process of its own (`arbbot.mapping.worker`: the
    arguments in on stdin, the result out on stdout, both pickled between this process and its
    child), awaited without blocking the event loop. Cancelled (the session closing), the worker
    is killed; a worker that fails raises RuntimeError with its exit status."""
    import pickle
    import sys

    payload = pickle.dumps((listings, cache_dir), protocol=pickle.HIGHEST_PROTOCOL)
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "arbbot.mapping.worker",
                                                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    try:
        out, _ = await proc.communicate(payload)
    except BaseException:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"the mapping worker exited with status {proc.returncode}")
    return pickle.loads(out)


def rows_to_json(digest: str, rows: list[MappingRow]) -> dict:
    """Generated rows as the cache file (and a recording's `mappings` record) holds them."""
    return {"format": GENERATOR, "digest": digest,
            "rows": [{"ids": list(r.ids), "relation": r.relation, "confidence": r.confidence,
                      "reasons": r.reasons} for r in rows]}


def _write_cache(path: Path, digest: str, rows: list[MappingRow]) -> None:
    """Atomic write (temporary file + rename); a cache that cannot be written is only logged."""
    doc = rows_to_json(digest, rows)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(doc).encode("utf-8"))
    except OSError as exc:
        log.warning("mappings.cache_not_written", path=str(path), error=str(exc))


def rows_from_json(doc: dict) -> list[MappingRow]:
    """`rows_to_json`'s rows back (this generator's or an older one with the same rows: a
    recording's twins); ValueError / KeyError / TypeError on anything else. Each row is checked
    as a mapping file's would be: ids strings (one per venue, at least two named), a relation,
    confidence an integer in [0, 1_000_000] (millionths), reasons a string or null."""
    if doc.get("format") not in READABLE:
        raise ValueError(f"format {doc.get('format')!r}")
    rows = []
    for r in doc["rows"]:
        ids, confidence, reasons = r["ids"], r["confidence"], r.get("reasons")
        if not (isinstance(ids, list) and len(ids) == len(VENUES) and all(isinstance(x, str) for x in ids)
                and sum(1 for x in ids if x) >= 2 and r["relation"] in RELATIONS
                and type(confidence) is int and 0 <= confidence <= 1_000_000     # (bool is no int here)
                and (reasons is None or isinstance(reasons, str))):
            raise ValueError(f"bad row {r!r}")
        rows.append(MappingRow(tuple(ids), r["relation"], confidence, None, reasons))   # type: ignore[arg-type]
    return rows


def merge_mappings(user: list[MappingRow], generated: list[MappingRow]) -> list[MappingRow]:
    """The user's rows, then each generated row that names no market a user row names: the
    user's row wins, whatever its relation or review (a market the user mapped elsewhere, or
    rejected, is never re-paired by the generator)."""
    taken = {name for row in user for name in row.names()}
    return [*user, *(row for row in generated if not taken.intersection(row.names()))]
