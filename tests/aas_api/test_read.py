"""Every read endpoint of the API over the full config's shell: its answer, paging, modifiers, errors."""

from __future__ import annotations

import base64
import io
import json
import zipfile

from aiohttp import web
from aiohttp.test_utils import TestClient

from edge_agent.aas_api.ids import encode_id
from edge_agent.aas_api.serialization import AASX_TYPE, PROFILES
from edge_agent.tags import Reading

from .conftest import MAX_PAGE, SHELL_ID, SUBMODELS, sm
from .double import StoreShell

Client = TestClient[web.Request, web.Application]
SHELL = f"/shells/{encode_id(SHELL_ID)}"
NAMEPLATE = sm(SUBMODELS.nameplate)
OPERATIONAL = sm(SUBMODELS.operational_data)
TECHNICAL = sm(SUBMODELS.technical_data)
ALL_SUBMODELS = [
    SUBMODELS.nameplate,
    SUBMODELS.technical_data,
    SUBMODELS.operational_data,
    SUBMODELS.condition_monitoring,
    SUBMODELS.identity,
]


async def get(client: Client, path: str, status: int = 200, **params: str) -> object:
    response = await client.get(path, params=params)
    body = await response.json()
    assert response.status == status, body
    return body


async def error(client: Client, path: str, status: int, **params: str) -> str:
    """The text of the Result an error answers with, after checking its shape."""
    body = await get(client, path, status, **params)
    assert isinstance(body, dict) and set(body) == {"messages"}
    (message,) = body["messages"]
    assert set(message) == {"code", "correlationId", "messageType", "text", "timestamp"}
    assert message["code"] == str(status) and message["messageType"] == "Error"
    return str(message["text"])


async def all_pages(client: Client, path: str, limit: int, **params: str) -> list[object]:
    """Every item of a paged answer, fetched ``limit`` at a time by following the cursor."""
    items: list[object] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": str(limit)} | ({"cursor": cursor} if cursor else {})
        body = await get(client, path, **query)
        assert isinstance(body, dict) and set(body) == {"paging_metadata", "result"}
        assert len(body["result"]) <= limit
        items.extend(body["result"])
        cursor = body["paging_metadata"].get("cursor")
        if cursor is None:
            return items


# Shells


async def test_shells_are_the_one_shell(client: Client) -> None:
    body = await get(client, "/shells")
    assert body["paging_metadata"] == {}
    (shell,) = body["result"]
    assert shell["id"] == SHELL_ID and shell["idShort"] == "pump_17"
    assert [ref["keys"][0]["value"] for ref in shell["submodels"]] == ALL_SUBMODELS


async def test_shells_filter_by_id_short_and_asset_id(client: Client) -> None:
    assert len((await get(client, "/shells", idShort="pump_17"))["result"]) == 1
    assert (await get(client, "/shells", idShort="does-not-exist"))["result"] == []
    asset = encode_id(json.dumps({"name": "globalAssetId", "value": "urn:example:asset:pump-17"}))
    other = encode_id(json.dumps({"name": "globalAssetId", "value": "urn:example:asset:other"}))
    assert len((await get(client, "/shells", assetIds=asset))["result"]) == 1
    assert (await get(client, "/shells/$reference", assetIds=other))["result"] == []
    assert "assetIds" in await error(client, "/shells", 400, assetIds=encode_id("not json"))


async def test_shell_references(client: Client) -> None:
    body = await get(client, "/shells/$reference")
    expected = {"type": "ModelReference", "keys": [{"type": "AssetAdministrationShell", "value": SHELL_ID}]}
    assert body["result"] == [expected]
    assert await get(client, f"{SHELL}/$reference") == expected


async def test_shell_by_id_with_or_without_padding(client: Client) -> None:
    padded = base64.urlsafe_b64encode(SHELL_ID.encode()).decode()
    assert padded.endswith("=")
    assert (await get(client, SHELL))["id"] == SHELL_ID
    assert (await get(client, f"/shells/{padded}"))["id"] == SHELL_ID


async def test_asset_information_and_no_thumbnail(client: Client) -> None:
    info = await get(client, f"{SHELL}/asset-information")
    assert info == {"assetKind": "Instance", "globalAssetId": "urn:example:asset:pump-17"}
    assert "thumbnail" in await error(client, f"{SHELL}/asset-information/thumbnail", 404)


async def test_submodel_refs_page_by_cursor(client: Client) -> None:
    refs = await all_pages(client, f"{SHELL}/submodel-refs", 2)
    assert [ref["keys"][0]["value"] for ref in refs] == ALL_SUBMODELS


async def test_bad_ids_are_400_and_unknown_ones_404(client: Client) -> None:
    assert "base64url" in await error(client, "/shells/invalid-base64url=====", 400)
    assert "base64url" in await error(client, "/submodels/invalid-base64url=====/$value", 400)
    await error(client, f"/shells/{encode_id('urn:nobody')}", 404)
    await error(client, f"/submodels/{encode_id('urn:nothing')}", 404)
    # A submodel that exists, but not in the shell named.
    await error(client, f"/shells/{encode_id('urn:nobody')}/submodels/{encode_id(SUBMODELS.nameplate)}", 404)
    await error(client, "/no/such/resource", 404)


# Submodels


async def test_submodels_filter_and_page(client: Client) -> None:
    submodels = await all_pages(client, "/submodels", 2)
    assert [each["id"] for each in submodels] == ALL_SUBMODELS
    (found,) = (await get(client, "/submodels", idShort="Nameplate"))["result"]
    assert found["id"] == SUBMODELS.nameplate
    semantic = found["semanticId"]["keys"][0]["value"]
    (by_semantic,) = (await get(client, "/submodels", semanticId=encode_id(semantic)))["result"]
    assert by_semantic["id"] == SUBMODELS.nameplate


async def test_submodel_list_forms(client: Client) -> None:
    metadata = (await get(client, "/submodels/$metadata"))["result"]
    assert all("submodelElements" not in each for each in metadata)
    values = (await get(client, "/submodels/$value"))["result"]
    assert values[0]["SerialNumber"] == "CP200-4711"
    references = (await get(client, "/submodels/$reference"))["result"]
    assert [ref["keys"][0]["value"] for ref in references] == ALL_SUBMODELS
    paths = (await get(client, "/submodels/$path"))["result"]
    assert "AddressInformation.Street" in paths and "TechnicalPropertyAreas[0].rated_power" in paths


async def test_submodel_level_core_and_deep(client: Client) -> None:
    deep = await get(client, NAMEPLATE)
    core = await get(client, NAMEPLATE, level="core")
    address = next(each for each in deep["submodelElements"] if each["idShort"] == "AddressInformation")
    assert len(address["value"]) == 4
    core_address = next(each for each in core["submodelElements"] if each["idShort"] == "AddressInformation")
    assert "value" not in core_address
    assert len(core["submodelElements"]) == len(deep["submodelElements"])


async def test_submodel_forms(client: Client) -> None:
    assert "submodelElements" not in await get(client, f"{NAMEPLATE}/$metadata")
    value = await get(client, f"{NAMEPLATE}/$value")
    assert value["AddressInformation"]["Street"] == [{"en": "Musterstraße 1"}]
    assert value["SerialNumber"] == "CP200-4711"
    assert await get(client, f"{NAMEPLATE}/$reference") == {
        "type": "ModelReference",
        "keys": [{"type": "Submodel", "value": SUBMODELS.nameplate}],
    }
    deep = await get(client, f"{NAMEPLATE}/$path")
    core = await get(client, f"{NAMEPLATE}/$path", level="core")
    assert "AddressInformation.Street" in deep and "AddressInformation.Street" not in core
    assert "AddressInformation" in core


async def test_live_values_are_typed_and_current(client: Client, shell: StoreShell) -> None:
    value = await get(client, f"{OPERATIONAL}/submodel-elements/motor_temperature/$value")
    assert value == {"motor_temperature": 61.25}
    shell.store.publish(Reading("motor_temperature", 77.5))
    assert await get(client, f"{OPERATIONAL}/submodel-elements/motor_temperature/$value") == {
        "motor_temperature": 77.5
    }
    element = await get(client, f"{OPERATIONAL}/submodel-elements/motor_temperature")
    assert element["value"] == "77.5"
    assert (await get(client, f"{OPERATIONAL}/$value"))["motor_temperature"] == 77.5


async def test_a_kept_answer_is_never_older_than_the_values(client: Client, shell: StoreShell) -> None:
    # Whole submodels are answered from a cache; a value that changed since must show at once.
    for value in (1.5, 2.5, 2.5, 3.5):
        shell.store.publish(Reading("motor_temperature", value))
        submodel = await get(client, OPERATIONAL)
        [shown] = [e["value"] for e in submodel["submodelElements"] if e["idShort"] == "motor_temperature"]
        assert shown == str(value)
        listed = (await get(client, f"{OPERATIONAL}/submodel-elements"))["result"]
        assert [e["value"] for e in listed if e["idShort"] == "motor_temperature"] == [str(value)]


# Submodel elements


async def test_elements_page_by_cursor(client: Client) -> None:
    everything = (await get(client, f"{OPERATIONAL}/submodel-elements"))["result"]
    assert len(everything) == 8
    assert await all_pages(client, f"{OPERATIONAL}/submodel-elements", 3) == everything
    for form in ("$value", "$metadata", "$reference", "$path"):
        whole = (await get(client, f"{NAMEPLATE}/submodel-elements/{form}"))["result"]
        assert await all_pages(client, f"{NAMEPLATE}/submodel-elements/{form}", 2) == whole


async def test_paging_limits(client: Client, shell: StoreShell) -> None:
    path = f"{NAMEPLATE}/submodel-elements/$path"
    for limit in ("-1", "0", "many", "1.5"):
        assert "limit" in await error(client, path, 400, limit=limit)
    assert "cursor" in await error(client, path, 400, cursor="not-ours")
    # A page never holds more than the server's maximum, whatever the client asks for.
    body = await get(client, "/submodels/$path", limit="1000")
    assert len(body["result"]) == MAX_PAGE and "cursor" in body["paging_metadata"]


async def test_element_by_path_and_its_forms(client: Client) -> None:
    street = f"{NAMEPLATE}/submodel-elements/AddressInformation.Street"
    assert (await get(client, street))["modelType"] == "MultiLanguageProperty"
    assert await get(client, f"{street}/$value") == {"Street": [{"en": "Musterstraße 1"}]}
    assert "value" not in await get(client, f"{street}/$metadata")
    reference = await get(client, f"{street}/$reference")
    assert [key["type"] for key in reference["keys"]] == [
        "Submodel",
        "SubmodelElementCollection",
        "MultiLanguageProperty",
    ]
    assert "$path" in await error(client, f"{street}/$path", 400)
    collection = f"{NAMEPLATE}/submodel-elements/AddressInformation"
    paths = await get(client, f"{collection}/$path")
    assert paths[0] == "AddressInformation" and "AddressInformation.Zipcode" in paths
    areas = f"{TECHNICAL}/submodel-elements/TechnicalPropertyAreas"
    assert "value" in (await get(client, areas))["value"][0]
    # Core: the element and its direct children, without theirs.
    assert "value" not in (await get(client, areas, level="core"))["value"][0]
    assert "Street" in (await get(client, f"{collection}/$value"))["AddressInformation"]


async def test_list_items_by_index(client: Client) -> None:
    item = f"{TECHNICAL}/submodel-elements/TechnicalPropertyAreas[0].rated_power"
    assert (await get(client, item))["idShort"] == "rated_power"
    keys = (await get(client, f"{item}/$reference"))["keys"]
    assert [key["value"] for key in keys[1:]] == ["TechnicalPropertyAreas", "0", "rated_power"]
    assert await get(client, f"{item}/$value") == {"rated_power": 7.5}
    listing = await get(client, f"{TECHNICAL}/submodel-elements/TechnicalPropertyAreas/$value")
    assert listing["TechnicalPropertyAreas"][0]["rated_speed"] == 2900
    await error(client, f"{TECHNICAL}/submodel-elements/TechnicalPropertyAreas[7]", 404)


async def test_bad_paths_and_parameters(client: Client) -> None:
    elements = f"{NAMEPLATE}/submodel-elements"
    await error(client, f"{elements}/NoSuchElement", 404)
    await error(client, f"{elements}/SerialNumber.Deeper", 404)
    assert "idShort path" in await error(client, f"{elements}/a..b", 400)
    assert "level" in await error(client, elements, 400, level="#####")
    assert "extent" in await error(client, f"{elements}/SerialNumber", 400, extent="####")
    await error(client, NAMEPLATE, 400, level="everything")
    assert "File or Blob" in await error(client, f"{elements}/SerialNumber/attachment", 400)


# The service profiles' own paths


async def test_aas_service(client: Client) -> None:
    assert (await get(client, "/"))["id"] == SHELL_ID
    assert (await get(client, "/aas"))["id"] == SHELL_ID
    assert (await get(client, "/aas/"))["id"] == SHELL_ID
    assert (await get(client, "/aas/$reference"))["keys"][0]["value"] == SHELL_ID
    assert (await get(client, "/aas/asset-information"))["assetKind"] == "Instance"
    assert len((await get(client, "/aas/submodel-refs"))["result"]) == 5
    submodel = f"/aas/submodels/{encode_id(SUBMODELS.identity)}"
    assert (await get(client, submodel))["idShort"] == "Identity"
    assert (await get(client, "/aas/shells", limit="1"))["result"][0]["id"] == SHELL_ID


async def test_submodel_service_is_the_nameplate(client: Client) -> None:
    assert (await get(client, "/submodel"))["id"] == SUBMODELS.nameplate
    assert (await get(client, "/submodel/"))["id"] == SUBMODELS.nameplate
    assert (await get(client, "/submodel/submodel-elements/SerialNumber/$value")) == {
        "SerialNumber": "CP200-4711"
    }
    assert (await get(client, "/submodel/shells"))["result"][0]["id"] == SHELL_ID


async def test_description(client: Client) -> None:
    assert await get(client, "/description") == {"profiles": list(PROFILES)}


async def test_serialization(client: Client) -> None:
    environment = await get(client, "/serialization")
    assert [each["id"] for each in environment["submodels"]] == ALL_SUBMODELS
    only = await get(
        client,
        "/aas/serialization",
        aasIds=encode_id(SHELL_ID),
        submodelIds=encode_id(SUBMODELS.identity),
        includeConceptDescriptions="FALSE",
    )
    assert [each["id"] for each in only["submodels"]] == [SUBMODELS.identity]
    assert len(only["assetAdministrationShells"]) == 1
    assert "includeConceptDescriptions" in await error(
        client, "/serialization", 400, includeConceptDescriptions="invalid-bool"
    )
    await error(client, "/serialization", 400, aasIds="invalid-base64url=====")
    await error(client, "/serialization", 404, submodelIds=encode_id("urn:nothing"))


async def test_serialization_as_aasx(client: Client) -> None:
    response = await client.get("/serialization", headers={"Accept": AASX_TYPE})
    assert response.status == 200 and response.content_type == AASX_TYPE
    with zipfile.ZipFile(io.BytesIO(await response.read())) as package:
        assert SHELL_ID in package.read("aasx/data.xml").decode()
