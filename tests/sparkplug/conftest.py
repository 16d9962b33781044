"""Fixtures of the Sparkplug room: a site CA with an enrolled agent, and real mosquitto brokers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.mosquitto import (
    INSTALL_HINT,
    MOSQUITTO,
    BrokerFactory,
    Credentials,
    Mosquitto,
    Site,
    make_site,
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """The CA, the broker's certificate and the agent's PKI store, shared by a module's tests: made with
    the provisioning code, which takes a moment of key generation each."""
    return make_site(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """Another site, whose CA the first one's broker and agent do not trust."""
    return make_site(tmp_path_factory.mktemp("stranger"), "Stranger CA")


@pytest.fixture
def start_broker(tmp_path: Path, site: Site) -> Iterator[BrokerFactory]:
    """``start_broker(client_ca=..., server=...)``: a started mosquitto, by default the site's own;
    every one started is stopped after the test."""
    if MOSQUITTO is None:
        pytest.skip(INSTALL_HINT)
    started: list[Mosquitto] = []

    def start(*, client_ca: Path | None = None, server: Credentials | None = None) -> Mosquitto:
        broker = Mosquitto(
            tmp_path / f"mosquitto-{len(started)}",
            client_ca=client_ca or site.ca_file,
            server=server or site.broker,
        )
        started.append(broker)
        broker.start()
        return broker

    yield start
    for broker in started:
        broker.stop()


@pytest.fixture
def broker(start_broker: BrokerFactory) -> Mosquitto:
    """mosquitto with the site's certificate, trusting the site's client certificates."""
    return start_broker()
