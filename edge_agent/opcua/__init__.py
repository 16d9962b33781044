"""The agent's OPC UA server (asyncua), secure by default."""

from .security import AgentUserManager, UserDirectory
from .server import AgentOpcUaServer, OpcUaSettings
from .tag_nodes import NAMESPACE_URI

__all__ = ["NAMESPACE_URI", "AgentOpcUaServer", "AgentUserManager", "OpcUaSettings", "UserDirectory"]
