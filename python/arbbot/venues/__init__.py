"""Venue adapters: one package per venue, all behind `arbbot.venues.common.VenueClient`.

Units everywhere (spec/ARBITRAGE.md "Units"): prices in ticks (1 tick = $0.0001), quantities in
lots (1 lot = 0.01 contract), money in micro-dollars (µ$). Venue decimal strings are parsed
exactly (integer string arithmetic, never float).
"""
