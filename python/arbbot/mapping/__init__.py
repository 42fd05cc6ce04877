"""Which markets on different venues are the same question: the mapping CSV
(`kalshi_ticker,polymarket_condition_id,forecastex_conid,relation,confidence`), the one shipped for
the default scenario (`default.csv`), and the relations it yields. Rule and mapping generators
from venue metadata will live here too."""
