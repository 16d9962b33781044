"""A small AAS Registry for the tests: POST and PUT of shell descriptors as Part 2 SSP-001 answers them,
each body checked against the IDTA's own descriptor schema (the excerpts in registry_openapi/).

No registry can be installed here, so this stands in for one: 201 for a new descriptor, 409 for one it
has, 204 for an update, 404 for an update of one it has not, 400 with a Result for a body the schema
refuses (or for every request while ``refusal`` is set). It records every request it gets.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from edge_agent.aas_api.ids import encode_id

OPENAPI = Path(__file__).parent / "registry_openapi"
REGISTRY_DOCUMENT = "AssetAdministrationShellRegistryServiceSpecification-V3.0_SSP-001.excerpt.yaml"
_DOMAINS = {
    "Part2-API-Schemas": "Part2-API-Schemas.excerpt.yaml",
    "Part1-MetaModel-Schemas": "Part1-MetaModel-Schemas.excerpt.yaml",
}
_SWAGGERHUB_DOMAIN = re.compile(r"https://api\.swaggerhub\.com/domains/Plattform_i40/([^/]+)/[^#]*")
_TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "integer": int,
    "number": (int, float),
}

Json = Any


class SchemaCheck:
    """OpenAPI 3.0 schema checks over the vendored documents, $refs followed across them as needed.

    The keywords the descriptor schemas use: $ref, allOf, oneOf, type, properties, required, items,
    minItems, minLength, maxLength, pattern, enum. Others (description, format, example) assert nothing.
    """

    def __init__(self) -> None:
        self._documents = {name: yaml.safe_load((OPENAPI / name).read_text()) for name in _DOMAINS.values()}
        registry = yaml.safe_load((OPENAPI / REGISTRY_DOCUMENT).read_text())
        body = registry["paths"]["/shell-descriptors"]["post"]["requestBody"]
        self.descriptor_schema: tuple[str, Json] = (
            REGISTRY_DOCUMENT,
            body["content"]["application/json"]["schema"],
        )

    def problems(self, instance: Json, schema: tuple[str, Json], at: str = "$") -> list[str]:
        document, node = schema
        if "$ref" in node:
            try:
                target = self._resolve(document, node["$ref"])
            except KeyError:
                return [f"{at}: {node['$ref']} is not in the vendored excerpts"]
            return self.problems(instance, target, at)
        found: list[str] = []
        for part in node.get("allOf", []):
            found += self.problems(instance, (document, part), at)
        if "oneOf" in node:
            fits = [part for part in node["oneOf"] if not self.problems(instance, (document, part), at)]
            if len(fits) != 1:
                found.append(f"{at}: fits {len(fits)} of the oneOf schemas, not one")
        expected = node.get("type")
        if expected is not None:
            wanted = _TYPES[expected]
            if not isinstance(instance, wanted) or (isinstance(instance, bool) and expected != "boolean"):
                return [*found, f"{at}: not of type {expected}"]
        if "enum" in node and instance not in node["enum"]:
            found.append(f"{at}: {instance!r} is none of {node['enum']}")
        if isinstance(instance, dict):
            found += [f"{at}: {key} is required" for key in node.get("required", []) if key not in instance]
            for key, sub in node.get("properties", {}).items():
                if key in instance:
                    found += self.problems(instance[key], (document, sub), f"{at}.{key}")
        if isinstance(instance, list):
            if len(instance) < node.get("minItems", 0):
                found.append(f"{at}: fewer than {node['minItems']} items")
            if "items" in node:
                for index, item in enumerate(instance):
                    found += self.problems(item, (document, node["items"]), f"{at}[{index}]")
        if isinstance(instance, str):
            if len(instance) < node.get("minLength", 0):
                found.append(f"{at}: shorter than {node['minLength']}")
            if "maxLength" in node and len(instance) > node["maxLength"]:
                found.append(f"{at}: longer than {node['maxLength']}")
            if "pattern" in node and not re.search(node["pattern"], instance):
                found.append(f"{at}: does not match {node['pattern']}")
        return found

    def _resolve(self, document: str, ref: str) -> tuple[str, Json]:
        where, _, pointer = ref.partition("#")
        if where:
            match = _SWAGGERHUB_DOMAIN.fullmatch(where)
            if match is None:
                raise KeyError(ref)
            document = _DOMAINS[match.group(1)]
        node = self._documents[document]
        for step in pointer.strip("/").split("/"):
            node = node[step]
        return document, node


@dataclass
class Request:
    method: str
    path: str
    body: Json
    status: int


@dataclass
class RegistryStub:
    """The registry's state and what it was asked; ``refusal`` makes it answer 400 with that text."""

    check: SchemaCheck = field(default_factory=SchemaCheck)
    descriptors: dict[str, Json] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    refusal: str | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/v3.0/shell-descriptors", self._post)
        app.router.add_put("/api/v3.0/shell-descriptors/{aasIdentifier}", self._put)
        return app

    def statuses(self) -> list[tuple[str, int]]:
        return [(request.method, request.status) for request in self.requests]

    async def _post(self, request: web.Request) -> web.Response:
        body, refused = await self._checked(request)
        if refused is not None:
            return refused
        if body["id"] in self.descriptors:
            return self._answer(request, body, _result(409, f"a descriptor of {body['id']} exists already"))
        self.descriptors[body["id"]] = body
        location = f"{request.url}/{encode_id(body['id'])}"
        return self._answer(
            request, body, web.json_response(body, status=201, headers={"Location": location})
        )

    async def _put(self, request: web.Request) -> web.Response:
        body, refused = await self._checked(request)
        if refused is not None:
            return refused
        if encode_id(body["id"]) != request.match_info["aasIdentifier"].rstrip("="):
            return self._answer(request, body, _result(400, "the id of the body is not the id of the path"))
        if body["id"] not in self.descriptors:
            return self._answer(request, body, _result(404, f"no descriptor of {body['id']}"))
        self.descriptors[body["id"]] = body
        return self._answer(request, body, web.Response(status=204))

    async def _checked(self, request: web.Request) -> tuple[Json, web.Response | None]:
        try:
            body = await request.json()
        except ValueError:
            return None, self._answer(request, None, _result(400, "the body is no JSON"))
        if self.refusal is not None:
            return body, self._answer(request, body, _result(400, self.refusal))
        problems = self.check.problems(body, self.check.descriptor_schema)
        if problems:
            return body, self._answer(request, body, _result(400, "; ".join(problems)))
        return body, None

    def _answer(self, request: web.Request, body: Json, response: web.Response) -> web.Response:
        self.requests.append(Request(request.method, request.path, body, response.status))
        return response


def _result(status: int, text: str) -> web.Response:
    message = {"code": str(status), "messageType": "Error", "text": text, "timestamp": "2024-01-01T00:00:00Z"}
    return web.json_response({"messages": [message]}, status=status)


async def serve(stub: RegistryStub, port: int, tls: ssl.SSLContext | None = None) -> web.AppRunner:
    """``stub`` on 127.0.0.1:``port``; the caller cleans the runner up."""
    runner = web.AppRunner(stub.app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=tls).start()
    return runner
