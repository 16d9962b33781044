"""Finding things in a built environment by idShort, as a client browsing the shell would."""

from __future__ import annotations

from aas_core3 import types as aas


def submodel(environment: aas.Environment, id_short: str) -> aas.Submodel:
    (found,) = [each for each in environment.submodels or [] if each.id_short == id_short]
    return found


def submodel_id_shorts(environment: aas.Environment) -> list[str]:
    return [each.id_short or "" for each in environment.submodels or []]


def children(container: aas.Submodel | aas.SubmodelElement) -> list[aas.SubmodelElement]:
    if isinstance(container, aas.Submodel):
        return list(container.submodel_elements or [])
    if isinstance(container, aas.SubmodelElementCollection | aas.SubmodelElementList):
        return list(container.value or [])
    return []


def element(container: aas.Submodel | aas.SubmodelElement, *path: str) -> aas.SubmodelElement:
    """The element at ``path`` of idShorts below ``container``."""
    current: aas.Submodel | aas.SubmodelElement = container
    for id_short in path:
        (current,) = [each for each in children(current) if each.id_short == id_short]
    assert not isinstance(current, aas.Submodel)
    return current


def semantic_id(referable: aas.HasSemantics) -> str | None:
    return referable.semantic_id.keys[0].value if referable.semantic_id else None


def qualifiers(element: aas.SubmodelElement) -> dict[str, str | None]:
    return {each.type: each.value for each in element.qualifiers or []}


def iec61360(element: aas.SubmodelElement) -> aas.DataSpecificationIEC61360:
    (specification,) = element.embedded_data_specifications or []
    content = specification.data_specification_content
    assert isinstance(content, aas.DataSpecificationIEC61360)
    return content


def all_ids(environment: aas.Environment) -> list[str]:
    """Every id and idShort path of the environment, in order."""
    found: list[str] = []
    for shell in environment.asset_administration_shells or []:
        found.append(f"shell {shell.id} {shell.id_short}")
    for each in environment.submodels or []:
        found.append(f"submodel {each.id} {each.id_short}")
        for descendant in each.descend():
            if isinstance(descendant, aas.Referable):
                found.append(f"  {type(descendant).__name__} {descendant.id_short}")
    return found


def prop(container: aas.Submodel | aas.SubmodelElement, *path: str) -> aas.Property:
    """The Property at ``path``: its value and value type are what a client reads."""
    found = element(container, *path)
    assert isinstance(found, aas.Property), f"{'/'.join(path)} is a {type(found).__name__}"
    return found


def typed_value(container: aas.Submodel | aas.SubmodelElement, *path: str) -> tuple[str | None, str]:
    """A Property's value and its XSD type, as the JSON export writes them: ('7.5', 'xs:double')."""
    found = prop(container, *path)
    return found.value, found.value_type.value


def values(container: aas.Submodel | aas.SubmodelElement) -> dict[str, str | None]:
    """The values of the Properties right below ``container``, by idShort."""
    return {each.id_short or "": each.value for each in children(container) if isinstance(each, aas.Property)}
