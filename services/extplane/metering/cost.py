"""Exact cost from the rate card: decimal arithmetic only, never a float.

Each (window, group, model) sum is priced by its model's row of the rate card
(the `default` row for a model not listed) and the costs of a bucket's models
are added. The arithmetic runs in a context wide enough for any int64 token
count times any configured price, and traps inexact results, so a cost is
either exact or an error, never silently rounded.
"""

from __future__ import annotations

import decimal
from decimal import Decimal

from extplane.metering.config import RateCard

_EXACT = decimal.Context(prec=400, traps=[decimal.Inexact, decimal.Overflow, decimal.Underflow])
ZERO = Decimal(0)


def cost(rate_card: RateCard, model: str, tokens_in: int, tokens_out: int) -> Decimal:
    """The price of `tokens_in` input and `tokens_out` output tokens of `model`."""
    price = rate_card.price(model)
    per_million = _EXACT.add(
        _EXACT.multiply(Decimal(tokens_in), price.input_per_million),
        _EXACT.multiply(Decimal(tokens_out), price.output_per_million),
    )
    return _EXACT.scaleb(per_million, Decimal(-6))


def add(a: Decimal, b: Decimal) -> Decimal:
    return _EXACT.add(a, b)


def format_cost(value: Decimal) -> str:
    """Plain decimal notation without trailing zeros: "0.0123", "12", "0"."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"
