"""The running bot's wiring: venues from their factories, discovery and incremental detection
(`live.LiveSession`, behind the `quality` gate), the paper trader (`trader`) and the `arbbot run`
/ `arbbot live` commands. Mappings live in `arbbot.mapping`, metrics and the view in `arbbot.ops`."""
