"""Hypothesis strategies for any protobuf request, built from its descriptor.

Every field gets values a caller could really send: any text (control characters, format
characters, surrogate-free Unicode of any length), integers across the whole range of the
field's wire type, enum numbers the schema does not name, nested and repeated messages, and
presence or absence of ``optional`` fields. ``hints`` swaps in a field's own strategy (ids
that exist, tokens the service issued) so examples also reach past the first lookup.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

Hints = Mapping[str, st.SearchStrategy[Any]]

_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_ENUM: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}

# Text a person or an attacker might send: anything, plus the edges that have bitten before.
TEXT = st.one_of(
    st.text(max_size=40),
    st.text(max_size=400),
    st.integers(250, 6000).map(lambda n: "a" * n),
    st.sampled_from(["", " ", "\x00", "\u200c\u200d", "\u202e", "$gt", "{}",
                     "ada@example.com", "x@y.zz", "000000000000000000000000"]),
)


def integers_for(field: FieldDescriptor) -> st.SearchStrategy[int]:
    low, high = _INT_RANGES[field.type]
    return st.one_of(st.integers(low, high), st.integers(-3, 200).filter(
        lambda v: low <= v <= high), st.sampled_from([low, high]))


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    if field.type == FieldDescriptor.TYPE_STRING:
        return TEXT
    if field.type == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=200)
    if field.type == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.floats(width=32 if field.type == FieldDescriptor.TYPE_FLOAT else 64)
    return integers_for(field)


def _value(field: FieldDescriptor, hints: Hints, depth: int) -> st.SearchStrategy[Any]:
    if field.name in hints:
        return hints[field.name]
    if field.message_type is not None:
        return _fields(field.message_type, hints, depth + 1)
    return _scalar(field)


@st.composite
def _message_kwargs(draw: st.DrawFn, descriptor: Descriptor, hints: Hints,
                    depth: int) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for field in descriptor.fields:
        repeated = field.is_repeated
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            continue  # no request here has maps
        if repeated:
            kwargs[field.name] = draw(st.lists(_value(field, hints, depth),
                                               max_size=0 if depth > 2 else 25))
        elif field.has_presence and not draw(st.booleans()):
            continue  # absent: an unset optional or sub-message
        elif field.type == FieldDescriptor.TYPE_MESSAGE and depth > 2:
            continue
        else:
            kwargs[field.name] = draw(_value(field, hints, depth))
    return kwargs


def _fields(descriptor: Any, hints: Hints, depth: int) -> st.SearchStrategy[Any]:
    cls = message_factory.GetMessageClass(descriptor)
    return _message_kwargs(descriptor, hints, depth).map(lambda kw: cls(**kw))


def requests(cls: type[Message], hints: Hints | None = None) -> st.SearchStrategy[Message]:
    """Any request of type ``cls``."""
    return _fields(cls.DESCRIPTOR, hints or {}, 0)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=12,
)


def _pack(body: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


def page_tokens(issued: list[str]) -> st.SearchStrategy[str]:
    """Tokens the service issued (``issued``, filled as the module sets up), those tokens with
    their fields replaced by any JSON, deep nesting, and plain noise."""
    def reshaped(token: str) -> st.SearchStrategy[str]:
        body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return st.fixed_dictionaries({k: st.just(v) | JSON for k, v in body.items()}).map(_pack)

    return st.one_of(
        st.sampled_from(issued) if issued else st.just(""),
        st.sampled_from(issued).flatmap(reshaped) if issued else st.just(""),
        JSON.map(_pack),
        st.integers(1, 200_000).map(lambda n: base64.urlsafe_b64encode(
            b"[" * n + b"]" * n).decode()),
        st.text(max_size=60),
    )
