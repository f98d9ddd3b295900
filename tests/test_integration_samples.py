"""Benign sample arguments read off a tool's JSON schema, as the framework handles list them."""

from __future__ import annotations

from pytest_agent_readiness.integrations._shared import sample_arguments


def test_each_required_property_gets_a_value_of_its_type() -> None:
    schema = {
        "type": "object",
        "properties": {
            "order_id": {"type": "string"},
            "amount": {"type": "number"},
            "count": {"type": "integer"},
            "urgent": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["order_id", "amount", "count", "urgent", "tags"],
    }
    assert sample_arguments(schema) == {
        "order_id": "A-1",
        "amount": 1.0,
        "count": 1,
        "urgent": False,
        "tags": [],
    }


def test_defaults_enums_examples_and_optional_types_are_used() -> None:
    schema = {
        "type": "object",
        "properties": {
            "channel": {"enum": ["email", "sms"]},
            "limit": {"type": "integer", "default": 5},
            "note": {"anyOf": [{"type": "null"}, {"type": "string"}]},
            "city": {"type": "string", "examples": ["Lisbon"]},
            "optional": {"type": "string"},
            "address": {
                "type": "object",
                "properties": {"zip": {"type": "string"}},
                "required": ["zip"],
            },
        },
        "required": ["channel", "note", "city", "address"],
    }
    assert sample_arguments(schema) == {
        "channel": "email",
        "limit": 5,
        "note": "A-1",
        "city": "Lisbon",
        "address": {"zip": "A-1"},
    }


def test_a_schema_without_properties_takes_no_arguments() -> None:
    assert sample_arguments({"type": "object"}) == {}
