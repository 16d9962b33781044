"""The agent's config as provisioning reads it: for the nameplate, and checked against the certificate's
application URI."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .errors import InputError

if TYPE_CHECKING:
    from edge_agent.agent_config import AgentConfig


def load_agent_config(config_file: Path, application_uri: str) -> AgentConfig:
    """The agent's config; InputError if it does not load or names another application URI, as the agent
    would refuse a certificate for ``application_uri`` then."""
    from edge_agent.agent_config import application_uri as agent_application_uri
    from edge_agent.agent_config import load_config
    from edge_agent.config import ConfigError

    try:
        config = load_config(config_file)
    except ConfigError as exc:
        raise InputError(str(exc)) from None
    served = agent_application_uri(config)
    if served != application_uri:
        how = "" if config.opcua.application_uri else ", derived from asset.id: set opcua.application_uri"
        raise InputError(
            f"--application-uri {application_uri!r} is not the application URI of {config_file} "
            f"({served!r}{how}); the agent would refuse a certificate for it"
        )
    return config
