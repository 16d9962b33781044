"""Sign-only endpoints exist only by opt-in, and say so at every start."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from asyncua import Client, ua
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256

from tests.support.opcua import (
    ClientIdentity,
    OneOperator,
    ServerFactory,
    log_in_as_operator,
    opcua_config,
    secure_client,
    tag_node,
    trust,
)


async def modes(url: str) -> set[tuple[str, str]]:
    endpoints = await Client(url).connect_and_get_server_endpoints()
    return {(e.SecurityPolicyUri.rsplit("#", 1)[-1], e.SecurityMode.name) for e in endpoints}


async def test_a_default_server_offers_sign_and_encrypt_only(
    tmp_path: Path, running_server: ServerFactory
) -> None:
    async with running_server(opcua_config(tmp_path / "pki")) as server:
        assert {mode for _, mode in await modes(server.endpoint_url)} == {"SignAndEncrypt"}


async def test_sign_only_is_offered_when_opted_into_and_logged_as_a_warning(
    tmp_path: Path,
    running_server: ServerFactory,
    client_identity: ClientIdentity,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    config = opcua_config(tmp_path / "pki").model_copy(update={"sign_only": True})
    async with running_server(config, user_directory=OneOperator()) as server:
        offered = await modes(server.endpoint_url)
        assert ("Basic256Sha256", "Sign") in offered and ("Aes256_Sha256_RsaPss", "Sign") in offered
        assert any("Sign-only endpoints are enabled" in record.getMessage() for record in caplog.records)
        trust(server, client_identity)
        client = await secure_client(
            server, client_identity, SecurityPolicyBasic256Sha256, ua.MessageSecurityMode.Sign
        )
        async with log_in_as_operator(client):
            await (await tag_node(client, "door_open")).read_data_value(raise_on_bad_status=False)
