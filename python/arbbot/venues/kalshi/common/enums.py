"""Kalshi wire enums ↔ unified model."""
from arbbot.units import MICROS_PER_DOLLAR
from arbbot.venues.common.model import OrderStatus, TimeInForce

# Kalshi has no day order: DAY is refused before sending (as good_till_canceled it would outlive the day)
TIF_TO_WIRE = {TimeInForce.GTC: "good_till_canceled", TimeInForce.IOC: "immediate_or_cancel",
               TimeInForce.FOK: "fill_or_kill"}
STATUS_FROM_WIRE = {"resting": OrderStatus.RESTING, "canceled": OrderStatus.CANCELED,
                    "executed": OrderStatus.FILLED, "pending": OrderStatus.PENDING}
FEE_TAKER_BASE_PPM = 70_000      # 0.07 × fee_multiplier
FEE_MAKER_BASE_PPM = 17_500      # 0.0175 on quadratic_with_maker_fees
FEE_ROUNDING_MICROS = MICROS_PER_DOLLAR // 100     # $0.01 per order (conservative; spec/ARBITRAGE.md)
