"""Where opportunities come from: listings read from venue API bodies (`listings`), structural
rules derived from them (`rules`, `arbbot rules`), cross-venue twins proposed by the matcher
(`match`, `arbbot map`), the mapping CSV a person reviews (`table`), what a running session
generates from its own discovery (`generate`) and bucket-group selection (`selection`)."""
