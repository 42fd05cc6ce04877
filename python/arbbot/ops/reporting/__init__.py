"""`arbbot report`: daily PnL, fill quality, expected vs realised per lane and order latency of an
order store, as rich tables, `arbbot.report/1` JSON or one self-contained HTML file.

Modules: `pnl` (the trader's per-execution PnL definitions, shared with the drift monitor),
`load` (read-only SQLite reads), `build` (the report object), `tables` (terminal), `html` (the
HTML page with inline SVG charts), `command` (the CLI).
"""
