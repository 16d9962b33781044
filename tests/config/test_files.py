"""Loading from files: what a file that is not a config says, and how relative paths are resolved."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from edge_agent.agent_config import load_config, load_config_text
from edge_agent.config import BUNDLED_MODELS, ConfigError, model_files, resolve_model_file

ASSET = "asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}\n"
MODEL_ENTRY = """\
sources:
  - name: plc
    driver: modbus
    host: 127.0.0.1
    points: [{name: flow_rate, kind: input, address: 0}]
models:
  - name: health
    file: MODEL_FILE
    inputs: {tags: [flow_rate]}
    outputs: [{name: health_score}]
"""


def with_model_file(file: str) -> str:
    return ASSET + MODEL_ENTRY.replace("MODEL_FILE", file)


def refusal(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return str(caught.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    assert refusal(path) == f"{path}: file not found"


def test_a_directory_is_not_a_config(tmp_path: Path) -> None:
    assert refusal(tmp_path) == f"{tmp_path}: is a directory, not a config file"


def test_an_empty_file_says_what_a_config_holds(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text("# nothing here yet\n")
    assert refusal(path) == (
        f"{path}:1:1: the file is empty; a config has the sections asset, opcua, sources, models, history, "
        "sparkplug, aas_api"
    )


def test_a_list_at_the_top_is_not_a_config(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text("- asset\n- sources\n")
    assert refusal(path) == (
        f"{path}:1:1: the top level must be a mapping of the sections asset, opcua, sources, models, "
        "history, sparkplug, aas_api, not a list"
    )


def test_a_file_that_is_not_utf8_text(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_bytes(b"asset:\n  id: \xff\xfe\n")
    assert refusal(path) == f"{path}: is not UTF-8 text (byte 13 cannot be decoded)"


def test_the_message_has_one_line_per_problem_in_file_order(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(ASSET + "opcua:\n  endpoint: http://plc:4840\nnorthbound: {}\n")
    assert refusal(path).splitlines() == [
        f"{path}:3:3: opcua.endpoint: must look like opc.tcp://HOST:PORT (got 'http://plc:4840')",
        f"{path}:4:1: northbound: unknown key 'northbound'; known keys here: asset, opcua, sources, models, "
        "history, sparkplug, aas_api",
    ]


def test_pki_and_users_resolve_against_the_config_files_directory(tmp_path: Path) -> None:
    path = tmp_path / "site" / "agent.yaml"
    path.parent.mkdir()
    path.write_text(ASSET + "opcua: {pki: state/pki, users: users.yaml}\n")
    opcua = load_config(path).opcua
    assert (opcua.pki, opcua.users) == (tmp_path / "site" / "state" / "pki", tmp_path / "site" / "users.yaml")


def test_absolute_paths_are_kept(tmp_path: Path) -> None:
    config = load_config_text(ASSET + "opcua: {pki: /var/lib/edge-agent/pki}\n", base_dir=tmp_path)
    assert config.opcua.pki == Path("/var/lib/edge-agent/pki")


def test_the_config_remembers_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(ASSET)
    assert load_config(path).config_dir == tmp_path


def test_a_bare_model_name_is_found_next_to_the_config_first(tmp_path: Path) -> None:
    (tmp_path / "health.tflite").write_bytes(b"model")
    config = load_config_text(with_model_file("health.tflite"), base_dir=tmp_path)
    assert resolve_model_file(config.models[0], config.config_dir) == tmp_path / "health.tflite"


def test_a_bare_model_name_falls_back_to_the_bundled_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundled = tmp_path / "installed_models"
    bundled.mkdir()
    (bundled / "health.tflite").write_bytes(b"model")
    monkeypatch.setattr(model_files, "BUNDLED_MODELS", bundled)
    config_dir = tmp_path / "site"
    config = load_config_text(with_model_file("health.tflite"), base_dir=config_dir)
    assert resolve_model_file(config.models[0], config.config_dir) == bundled / "health.tflite"


def test_the_bundled_models_are_the_installed_models_package() -> None:
    assert (BUNDLED_MODELS / "__init__.py").is_file()


def test_a_model_found_nowhere_is_a_config_error_naming_both_places(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config_text(with_model_file("missing.tflite"), "agent.yaml", base_dir=tmp_path)
    (problem,) = caught.value.problems
    assert problem.path == "models[0].file"
    assert f"neither in {tmp_path} nor in {BUNDLED_MODELS}" in problem.message


def test_a_model_path_that_does_not_exist_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"models\[0\]\.file: model file .*site_models/health.tflite does not"
    ):
        load_config_text(with_model_file("site_models/health.tflite"), base_dir=tmp_path)


def test_a_model_path_with_a_slash_is_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "site_models").mkdir()
    (tmp_path / "site_models" / "health.tflite").write_bytes(b"model")
    config = load_config_text(with_model_file("site_models/health.tflite"), base_dir=tmp_path)
    assert config.models[0].file == "site_models/health.tflite"
    assert (
        resolve_model_file(config.models[0], config.config_dir) == tmp_path / "site_models" / "health.tflite"
    )


def test_reloading_text_needs_no_file() -> None:
    text = dedent(
        """\
        asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}
        opcua: {endpoint: "opc.tcp://127.0.0.1:4841"}
        """
    )
    assert load_config_text(text).opcua.port == 4841
