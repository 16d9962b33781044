"""The shell a client finds: one AAS per asset, standard nameplate and technical data, live data, models
and the device's identity, valid against the AAS V3.0 metamodel."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

from aas_core3 import types as aas

from edge_agent.aas import build_environment, verify
from edge_agent.aas import ids as semantic
from edge_agent.agent_config import AgentConfig, load_config_text
from tests.support.aas import FULL_CONFIG, FULL_MODEL_INFO, FULL_VALUES, ISSUED

from .shell import (
    all_ids,
    children,
    element,
    iec61360,
    prop,
    qualifiers,
    semantic_id,
    submodel,
    submodel_id_shorts,
    typed_value,
    values,
)

EVERY_SUBMODEL = ["Nameplate", "TechnicalData", "OperationalData", "ConditionMonitoring", "Identity"]
BARE_ASSET = "asset:\n  id: urn:example:aas:bare\n  global_asset_id: urn:example:asset:bare\n"
ADDRESS = "https://admin-shell.io/zvei/nameplate/1/0/ContactInformations/AddressInformation"


def test_the_demo_shell_breaks_no_aas_constraint(demo_config: AgentConfig, certificate_der: bytes) -> None:
    environment = build_environment(demo_config, certificate_der=certificate_der)
    assert verify(environment) == []
    assert submodel_id_shorts(environment) == EVERY_SUBMODEL


def test_a_config_with_every_optional_key_breaks_no_aas_constraint(
    full_config: AgentConfig, certificate_der: bytes
) -> None:
    environment = build_environment(
        full_config, certificate_der=certificate_der, model_info=FULL_MODEL_INFO, values=FULL_VALUES
    )
    assert verify(environment) == []


def test_the_shell_names_the_asset_and_refers_to_every_submodel(demo_config: AgentConfig) -> None:
    environment = build_environment(demo_config, certificate_der=None)
    (shell,) = environment.asset_administration_shells or []
    assert shell.id == "urn:example:aas:pump-17"
    assert shell.asset_information.global_asset_id == "urn:example:asset:pump-17"
    assert shell.asset_information.asset_kind is aas.AssetKind.INSTANCE
    referenced = [reference.keys[0].value for reference in shell.submodels or []]
    assert referenced == [each.id for each in environment.submodels or []]


def test_ids_are_the_same_in_every_build(full_config: AgentConfig, certificate_der: bytes) -> None:
    first = build_environment(full_config, certificate_der=None)
    again = build_environment(full_config, certificate_der=None)
    live = build_environment(
        full_config, certificate_der=certificate_der, model_info=FULL_MODEL_INFO, values=FULL_VALUES
    )
    assert all_ids(first) == all_ids(again)
    assert [each.id for each in first.submodels or []] == [each.id for each in live.submodels or []]
    assert submodel(first, "Nameplate").id == "urn:example:aas:pump-17/submodels/nameplate"


def test_the_nameplate_carries_the_template_semantic_ids(full_config: AgentConfig) -> None:
    nameplate = submodel(build_environment(full_config, certificate_der=None), "Nameplate")
    assert semantic_id(nameplate) == "https://admin-shell.io/idta/nameplate/3/0/Nameplate"
    expected = {
        ("URIOfTheProduct",): "0112/2///61987#ABN590#002",
        ("ManufacturerName",): "0112/2///61987#ABA565#009",
        ("ManufacturerProductDesignation",): "0112/2///61987#ABA567#009",
        ("SerialNumber",): "0112/2///61987#ABA951#009",
        ("YearOfConstruction",): "0112/2///61987#ABP000#002",
        ("AddressInformation",): ADDRESS,
        ("AddressInformation", "Street"): "0173-1#02-AAO128#002",
        ("AddressInformation", "Zipcode"): "0173-1#02-AAO129#002",
        ("AddressInformation", "CityTown"): "0173-1#02-AAO132#002",
        ("AddressInformation", "NationalCode"): "0173-1#02-AAO134#002",
    }
    assert {path: semantic_id(element(nameplate, *path)) for path in expected} == expected


def test_the_nameplate_says_what_the_config_says(full_config: AgentConfig) -> None:
    nameplate = submodel(build_environment(full_config, certificate_der=None), "Nameplate")
    name = element(nameplate, "ManufacturerName")
    assert isinstance(name, aas.MultiLanguageProperty)
    assert [(text.language, text.text) for text in name.value or []] == [("en", "ACME Pumpen GmbH")]
    zipcode = element(nameplate, "AddressInformation", "Zipcode")
    assert isinstance(zipcode, aas.MultiLanguageProperty)
    assert [text.text for text in zipcode.value or []] == ["01234"]
    assert typed_value(nameplate, "YearOfConstruction") == ("2024", "xs:string")
    assert typed_value(nameplate, "URIOfTheProduct") == ("urn:example:asset:pump-17", "xs:anyURI")
    assert typed_value(nameplate, "SerialNumber") == ("CP200-4711", "xs:string")


def test_technical_properties_carry_their_irdi_type_and_unit(full_config: AgentConfig) -> None:
    technical_data = submodel(build_environment(full_config, certificate_der=None), "TechnicalData")
    assert semantic_id(technical_data) == "0173-1#01-AHX837#002"
    general = element(technical_data, "GeneralInformation")
    assert semantic_id(general) == "0173-1#02-ABK161#002/0173-1#01-AHX838#002"
    assert typed_value(general, "ManufacturerName") == ("ACME Pumpen GmbH", "xs:string")
    (area,) = children(element(technical_data, "TechnicalPropertyAreas"))
    power = prop(area, "rated_power")
    assert (power.value, power.value_type.value) == ("7.5", "xs:double")
    assert semantic_id(power) == "0173-1#02-AAK235#006"
    assert iec61360(power).unit == "kW"
    assert typed_value(area, "rated_speed") == ("2900", "xs:long")
    assert typed_value(area, "explosion_proof") == ("false", "xs:boolean")
    assert typed_value(area, "impeller_material") == ("stainless steel", "xs:string")


def test_operational_data_has_one_live_property_per_source_tag(full_config: AgentConfig) -> None:
    environment = build_environment(full_config, certificate_der=None, values=FULL_VALUES)
    operational = submodel(environment, "OperationalData")
    assert values(operational) == {
        "motor_temperature": "61.25",
        "vibration_rms": "1.52",
        "discharge_pressure": "3.25",
        "flow_rate": "118.4",
        "motor_speed": "2900",
        "speed_setpoint": "2950",
        "door_open": "false",
        "alarm_lamp": "true",
    }
    assert typed_value(operational, "motor_speed") == ("2900", "xs:unsignedShort")  # a uint16 register
    assert typed_value(operational, "door_open") == ("false", "xs:boolean")


def test_a_live_property_carries_unit_range_and_whether_clients_may_write(full_config: AgentConfig) -> None:
    operational = submodel(build_environment(full_config, certificate_der=None), "OperationalData")
    temperature = prop(operational, "motor_temperature")
    assert iec61360(temperature).unit == "degC"
    assert qualifiers(temperature) == {
        semantic.ACCESS_MODE_QUALIFIER: semantic.READ_ONLY,
        semantic.RANGE_LOW_QUALIFIER: "0.0",
        semantic.RANGE_HIGH_QUALIFIER: "150.0",
    }
    setpoint = prop(operational, "speed_setpoint")
    assert qualifiers(setpoint)[semantic.ACCESS_MODE_QUALIFIER] == semantic.READ_WRITE
    assert [text.text for text in iec61360(setpoint).definition or []] == [
        "the speed the drive is asked to run at"
    ]


def test_a_tag_without_a_value_yet_has_an_empty_property(demo_config: AgentConfig) -> None:
    operational = submodel(build_environment(demo_config, certificate_der=None), "OperationalData")
    assert typed_value(operational, "motor_temperature") == (None, "xs:float")  # a float32 register


def test_condition_monitoring_shows_each_model_its_outputs_and_facts(full_config: AgentConfig) -> None:
    environment = build_environment(
        full_config, certificate_der=None, model_info=FULL_MODEL_INFO, values=FULL_VALUES
    )
    model = element(submodel(environment, "ConditionMonitoring"), "pump_health")
    assert typed_value(model, "Outputs", "anomaly_score") == ("0.31", "xs:double")
    assert typed_value(model, "Outputs", "anomaly") == ("false", "xs:boolean")
    assert values(model) == {
        "Name": "pump_health",
        "File": "pump_anomaly.tflite",
        "Sha256": "f93b55b822b5e8821b9a256c729e6d8a61903c7880721b239ea625ef4e25da55",
        "Version": "1.0.0",
        "Description": "anomaly score of the pump",
        "SamplePeriod": "PT0.25S",
        "Window": "16",
        "InputTags": "motor_temperature, vibration_rms, discharge_pressure, flow_rate, motor_speed",
        "Inferences": "1234",
    }
    assert values(element(model, "LatencyStatistics")) == {
        "P50Ms": "0.8",
        "P99Ms": "2.5",
        "MeanMs": "0.9",
        "MaxMs": "4.0",
    }


def test_model_outputs_are_not_repeated_as_operational_data(full_config: AgentConfig) -> None:
    operational = submodel(build_environment(full_config, certificate_der=None), "OperationalData")
    assert not set(values(operational)) & {"anomaly_score", "anomaly"}


def test_identity_reads_the_device_certificate(full_config: AgentConfig, certificate_der: bytes) -> None:
    now = ISSUED + timedelta(days=100)
    identity = submodel(build_environment(full_config, certificate_der=certificate_der, now=now), "Identity")
    facts = values(identity)
    assert facts["Status"] == "valid"
    assert facts["Subject"] == "O=ACME Pumpen GmbH,CN=edge-agent@pump-17"
    assert facts["Issuer"] == facts["Subject"]
    assert facts["SelfSigned"] == "true"
    assert facts["FingerprintSha256"] == hashlib.sha256(certificate_der).hexdigest().upper()
    assert facts["NotBefore"] == "2025-01-09T00:00:00Z"
    assert facts["NotAfter"] == "2026-01-10T00:00:00Z"
    assert facts["DaysToExpiry"] == "265"


def test_identity_properties_are_read_only(full_config: AgentConfig, certificate_der: bytes) -> None:
    identity = submodel(build_environment(full_config, certificate_der=certificate_der), "Identity")
    access = {each.id_short: qualifiers(each) for each in children(identity)}
    assert all(found == {semantic.ACCESS_MODE_QUALIFIER: semantic.READ_ONLY} for found in access.values())


def test_an_expired_certificate_says_so(full_config: AgentConfig, certificate_der: bytes) -> None:
    now = ISSUED + timedelta(days=400)
    identity = submodel(build_environment(full_config, certificate_der=certificate_der, now=now), "Identity")
    assert values(identity)["Status"] == "expired"
    assert values(identity)["DaysToExpiry"] == "-35"


def test_before_the_device_has_a_certificate_identity_says_so(demo_config: AgentConfig) -> None:
    identity = submodel(build_environment(demo_config, certificate_der=None), "Identity")
    assert values(identity) == {"Status": "no certificate yet"}


def test_an_asset_without_nameplate_or_technical_data_has_neither_submodel() -> None:
    config = load_config_text(BARE_ASSET)
    environment = build_environment(config, certificate_der=None)
    assert submodel_id_shorts(environment) == EVERY_SUBMODEL[2:]
    assert verify(environment) == []


def test_technical_data_without_a_nameplate_still_verifies() -> None:
    config = load_config_text(BARE_ASSET + "  technical_data: [{ name: rated_head, value: 45, unit: m }]\n")
    environment = build_environment(config, certificate_der=None)
    assert submodel_id_shorts(environment) == EVERY_SUBMODEL[1:]
    assert verify(environment) == []


def test_a_point_with_a_semantic_id_gives_its_live_property_that_semantic_id(tmp_path: Path) -> None:
    temperature_concept = "0173-1#02-AAV232#002"
    door_concept = "https://example.com/concepts/door-open"
    text = FULL_CONFIG.replace(
        "unit: degC, range: [0, 150] }",
        f'unit: degC, range: [0, 150], semantic_id: "{temperature_concept}" }}',
    ).replace("debounce: 20ms }", f"debounce: 20ms, semantic_id: {door_concept} }}")
    config = load_config_text(text, base_dir=tmp_path)
    environment = build_environment(config, certificate_der=None)
    operational = submodel(environment, "OperationalData")
    assert semantic_id(prop(operational, "motor_temperature")) == temperature_concept
    assert semantic_id(prop(operational, "door_open")) == door_concept
    assert semantic_id(prop(operational, "vibration_rms")) is None
    assert verify(environment) == []
