"""The shell as an AAS V3.0 JSON document or an AASX package (AAS Part 5).

Both serialisations come from aas-core3.0, the metamodel's reference implementation, so JSON and AASX say
the same thing in metamodel 3.0 (a package written by a 3.1 library would name another edition).
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import BinaryIO

from aas_core3 import jsonization
from aas_core3 import types as aas

AASX_CREATOR = "edge-agent"
AASX_ORIGIN_PART = "/aasx/aasx-origin"
AASX_DATA_PART = "/aasx/data.xml"
RELATIONSHIP_AASX_ORIGIN = "http://admin-shell.io/aasx/relationships/aasx-origin"
RELATIONSHIP_AAS_SPEC = "http://admin-shell.io/aasx/relationships/aas-spec"


def to_json(environment: aas.Environment, *, indent: int | None = 2) -> str:
    """The environment as AAS V3.0 JSON."""
    return json.dumps(jsonization.to_jsonable(environment), indent=indent, ensure_ascii=False)


def to_xml(environment: aas.Environment) -> bytes:
    """The environment as AAS V3.0 XML, UTF-8 with an XML declaration."""
    # Imported here: the XML serializer (~1.5 MB of code) is loaded only when someone asks for XML or AASX.
    from aas_core3 import xmlization

    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + xmlization.to_str(environment).encode()


def write_aasx(environment: aas.Environment, target: BinaryIO, *, created: datetime | None = None) -> None:
    """Write the environment as an AASX package (one XML data part) to ``target``.

    ``target`` need not be seekable: the package is built in memory first.
    """
    # Imported here: pyecma376_2 brings lxml (~1.5 MB); a serving agent writes no package until asked.
    import pyecma376_2 as opc

    def internal(relationship_id: str, type_: str, target: str) -> opc.OPCRelationship:
        return opc.OPCRelationship(relationship_id, type_, target, opc.OPCTargetMode.INTERNAL)

    properties = opc.OPCCoreProperties()
    properties.created = created or datetime.now(UTC)
    properties.creator = AASX_CREATOR
    buffer = io.BytesIO()
    writer = opc.ZipPackageWriter(buffer)
    with writer.open_part(AASX_ORIGIN_PART, "text/plain"):
        pass
    with writer.open_part(AASX_DATA_PART, "application/xml") as part:
        part.write(to_xml(environment))
    with writer.open_part(opc.DEFAULT_CORE_PROPERTIES_NAME, "application/xml") as part:
        properties.write_xml(part)
    writer.write_relationships([internal("r1", RELATIONSHIP_AAS_SPEC, AASX_DATA_PART)], AASX_ORIGIN_PART)
    writer.write_relationships(
        [
            internal("r1", RELATIONSHIP_AASX_ORIGIN, AASX_ORIGIN_PART),
            internal("r2", opc.RELATIONSHIP_TYPE_CORE_PROPERTIES, opc.DEFAULT_CORE_PROPERTIES_NAME),
        ]
    )
    writer.close()
    target.write(buffer.getvalue())
