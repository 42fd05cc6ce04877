"""`native.decode` builds its frozen dataclasses through `_retyping`'s fast constructors: what
they return must be indistinguishable from the dataclass's own constructor (type, ==, hash, repr,
immutability, pickling, copying, `dataclasses.replace`), and a whole decoded chain equal to the
one built the slow way, field by field, type by type."""
from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from arbbot.bench.runner import sizing_opportunity
from arbbot.sizing import native as sizing_native, types
from arbbot.sizing.types import SizingParams
from tests.sizing.test_lazy import assert_same

RETYPED = ("ExecutionModelInputs", "FillModelInputs", "FeeModelInputs", "Priced", "LiquidityImpactInputs",
           "CapitalLockInputs", "MonteCarloResult", "MonteCarloInputs", "KellyInputs", "StepResult", "SizingResult")


def values_for(cls: type) -> tuple:
    """Distinct, hashable values, one per field (the fast path never looks at their types)."""
    return tuple((k, f"v{k}", 0.5 + k) for k, _ in enumerate(dataclasses.fields(cls)))


@pytest.mark.parametrize("name", RETYPED)
def test_retyped_instance_is_the_dataclass(name):
    cls, fast = getattr(types, name), getattr(sizing_native, f"_{name}")
    values = values_for(cls)
    built, slow = fast(*values), cls(*values)
    assert type(built) is cls
    assert built == slow and hash(built) == hash(slow) and repr(built) == repr(slow)
    assert built != cls(*values[:-1], "other")
    first = dataclasses.fields(cls)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(built, first, 1)
    for instance in (built, slow):               # slotted: no instance dict (3.11 raises TypeError)
        with pytest.raises((AttributeError, TypeError)):
            instance.not_a_field = 1
    assert pickle.loads(pickle.dumps(built)) == slow
    assert copy.deepcopy(built) == slow and copy.copy(built) == slow
    changed = dataclasses.replace(built, **{first: "changed"})
    assert type(changed) is cls and getattr(changed, first) == "changed" and getattr(built, first) == values[0]


def test_retyped_needs_every_field():
    with pytest.raises(TypeError):
        sizing_native._StepResult(*values_for(types.StepResult)[:-1])


def test_decoded_chain_equals_the_slow_build(native):
    """The `size` op's opportunity decoded fast equals the same record rebuilt through each
    dataclass's own constructor (every nested record, every type)."""
    rec, legs_out = sizing_native._call((sizing_opportunity(),), SizingParams())
    fast = sizing_native.decode(rec, 0, legs_out)

    def rebuild(value):
        if dataclasses.is_dataclass(value):
            return type(value)(*(rebuild(getattr(value, f.name)) for f in dataclasses.fields(value)))
        if isinstance(value, tuple):
            return tuple(rebuild(v) for v in value)
        return value

    slow = rebuild(fast)
    assert_same(fast, slow)
    assert fast == slow
    assert [s.qty for s in fast.steps] == [s.qty for s in slow.steps] and fast.qty == 19_900
