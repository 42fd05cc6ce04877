"""The venues' wire values on the fast path: `units._plain` (the `[-]D+[.D…]` form every book
frame carries) gives the integer the full parser gives, or hands the value over to it; and the
WebSocket frames' JSON decoder (`wire_json.decode`) gives the values `json.loads` gives."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings, strategies as st

from arbbot.units import UnitError, _decimal_text, _plain, _scaled, money_micros, price_ticks, qty_lots
from arbbot.venues.common import wire_json

wire_text = st.text(alphabet="0123456789.-+ 0123456789", max_size=12) | st.from_regex(
    r"\A-?[0-9]{1,6}(\.[0-9]{0,8})?\Z") | st.text(max_size=6)


@settings(max_examples=1_000, deadline=None)
@given(wire_text, st.sampled_from([2, 4, 6]))
def test_the_fast_path_gives_the_full_parsers_integer_or_hands_over(value, scale):
    try:
        expected = _decimal_text(value, scale, "x")       # the full parser, as before the fast path
    except UnitError:
        expected = None
    fast = _plain(value, scale)
    if fast is not None:                    # it only answers what the full parser accepts, equally
        assert fast == expected
    try:
        got = _scaled(value, scale, "x")
    except UnitError:
        got = None
    assert got == expected


@pytest.mark.parametrize("value, scale, expected", [
    ("0.5600", 4, 5600), ("0.56", 4, 5600), ("1", 4, 10_000), ("-12.00", 2, -1200), ("-0.00", 2, 0),
    ("007.5", 2, 750), ("1234.560000", 6, 1_234_560_000)])
def test_golden_plain_values(value, scale, expected):
    assert _plain(value, scale) == expected == _scaled(value, scale, "x")


@pytest.mark.parametrize("value", ["+1.0", " 0.5", "0.5 ", "1.", ".5", "0.56000", "٣.٥", "1e3", "--1", "-", ""])
def test_other_forms_go_to_the_full_parser(value):
    assert _plain(value, 4) is None


def test_the_full_parsers_answers_and_errors_are_unchanged():
    assert price_ticks("0.56000") == 5600 and price_ticks(" 0.5 ") == 5000 and price_ticks("+1") == 10_000
    assert qty_lots("-3.5", signed=True) == -350 and money_micros("1.") == 1_000_000
    for bad, parse in (("1.5", price_ticks), ("0.56001", price_ticks), ("-1.00", qty_lots), ("1e3", money_micros),
                       ("٣", price_ticks)):
        with pytest.raises(UnitError):
            parse(bad)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(exclude_categories=("Cs",))),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(json_values, st.booleans())
def test_frames_decode_to_the_values_json_loads_gives(value, ascii_only):
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert wire_json.decode(text) == json.loads(text)
    assert wire_json.decode(text.encode()) == json.loads(text)


@pytest.mark.parametrize("text", ['{"a": NaN}', '{"a": Infinity}', '[1e400]', '{"a": 1', '', '\xff', '{"a": "\\ud800"}'])
def test_what_is_not_json_is_a_value_error(text):
    with pytest.raises(ValueError):
        wire_json.decode(text)
