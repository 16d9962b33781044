"""Sharing the attribute values that thousands of nodes hold alike.

asyncua keeps each attribute of each node as its own AttributeValue -> DataValue -> Variant objects: a
variable costs about fifteen such triples, most of them equal across nodes (its WriteMask, ValueRank,
AccessLevel, DataType, the BrowseName "Value" or "Category" ...). Nodes the agent builds from its config
never change those attributes after start, and clients cannot (WriteMask 0, AccessLevel read-only), so
equal ones can be one object. A shared attribute must never be one a monitored item watches for changes
or one asyncua computes on read; such attributes are left alone, as are node ids and changing values.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from asyncua import ua
from asyncua.server.address_space import AddressSpace, AttributeValue

_NEVER_SHARED = {ua.AttributeIds.NodeId, ua.AttributeIds.Value}


_PLAIN = frozenset({int, float, str, bool, bytes, type(None), ua.NodeId})
"""Types whose values are their own keys (hashable, equal by value)."""


def _value_key(value: Any) -> Any:
    """A hashable stand-in for an attribute's value: equal values, equal keys; None if there is none."""
    if type(value) in _PLAIN:
        return (type(value), value)
    if isinstance(value, ua.QualifiedName):
        return ("QualifiedName", value.NamespaceIndex, value.Name)
    if isinstance(value, ua.LocalizedText):
        return ("LocalizedText", value.Locale, value.Text)
    if isinstance(value, list):
        keys = tuple(_value_key(each) for each in value)
        return None if None in keys else ("list", keys)
    if dataclasses.is_dataclass(value):
        # Structures (EUInformation, Range ...): their repr spells every field.
        return ("structure", type(value), repr(value))
    try:
        hash(value)
    except TypeError:
        return None
    return (type(value), value)


def _key(attribute: ua.AttributeIds, attribute_value: AttributeValue) -> tuple[Any, ...] | None:
    data_value = attribute_value.value
    if (
        data_value is None
        or attribute_value.value_callback is not None
        or attribute_value.value_setter is not None
        or attribute_value.datachange_callbacks
    ):
        return None
    variant = data_value.Value
    value = _value_key(variant.Value) if variant is not None else ("no variant",)
    if value is None:
        return None
    return (
        attribute,
        variant.VariantType if variant is not None else None,
        value,
        data_value.StatusCode.value if data_value.StatusCode is not None else None,
        data_value.SourceTimestamp,
        data_value.ServerTimestamp,
    )


class AttributeSharer:
    """Makes equal attributes of the nodes it is shown one object, across every call.

    ``share`` leaves Value attributes alone (they may change); ``attribute`` shares a Value only when
    asked. Call ``share`` every few thousand nodes while building: memory freed
    early is reused by the nodes that follow, while freed at the end it would stay with the process.
    """

    def __init__(self) -> None:
        self.shared = 0
        self._canonical: dict[tuple[Any, ...], AttributeValue] = {}
        self._given: dict[tuple[Any, ...], AttributeValue] = {}
        self._names: dict[Any, Any] = {}

    def attribute(
        self, attribute: ua.AttributeIds, value: Any, variant_type: ua.VariantType | None, is_array: bool
    ) -> AttributeValue:
        """The one attribute object holding ``value`` (as AddNodes would store it), made if none yet.

        Looked up by the value given, so a value seen before costs no new objects.
        """
        if isinstance(value, ua.Variant):
            inner = _value_key(value.Value)
            given = None if inner is None else (value.VariantType, inner)
        else:
            given = _value_key(value)
        if given is None:
            return AttributeValue(ua.DataValue(ua.Variant(value, variant_type, is_array=is_array)))
        lookup = (attribute, variant_type, is_array, given)
        found = self._given.get(lookup)
        if found is None:
            made = AttributeValue(ua.DataValue(ua.Variant(value, variant_type, is_array=is_array)))
            key = _key(attribute, made)
            found = made if key is None else self._canonical.setdefault(key, made)
            self._given[lookup] = found
        return found

    def share(self, aspace: AddressSpace, nodes: Iterable[ua.NodeId]) -> None:
        canonical = self._canonical
        for nodeid in nodes:
            attributes = aspace[nodeid].attributes
            for attribute, attribute_value in list(attributes.items()):
                if attribute in _NEVER_SHARED:
                    continue
                key = _key(attribute, attribute_value)
                if key is None:
                    continue
                found = canonical.setdefault(key, attribute_value)
                if found is not attribute_value:
                    attributes[attribute] = found
                    self.shared += 1
            for reference in aspace[nodeid].references:
                self.share_reference(reference)

    def share_reference(self, reference: ua.ReferenceDescription) -> None:
        """Make the names and node ids a reference holds the same objects as equal ones elsewhere."""
        names = self._names
        reference.ReferenceTypeId = names.setdefault(reference.ReferenceTypeId, reference.ReferenceTypeId)
        reference.TypeDefinition = names.setdefault(reference.TypeDefinition, reference.TypeDefinition)
        reference.BrowseName = names.setdefault(_value_key(reference.BrowseName), reference.BrowseName)
        reference.DisplayName = names.setdefault(_value_key(reference.DisplayName), reference.DisplayName)
