"""The shell as an OPC 30270 (OPC UA for Asset Administration Shell) node set."""

from .nodeset import NAMESPACE_URI, load_i4aas
from .shell_nodes import SHELL_NAMESPACE_URI, ShellNodes

__all__ = ["NAMESPACE_URI", "SHELL_NAMESPACE_URI", "ShellNodes", "load_i4aas"]
