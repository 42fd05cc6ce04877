"""Record a session's market data (`arbbot run --record FILE`) and replay it deterministically
(`arbbot replay FILE [--config A] [--config B]`): detection, sizing and paper execution re-run on
the same books in virtual time, so two configurations can be compared on the same data."""
