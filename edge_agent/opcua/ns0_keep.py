"""The namespace-0 nodes a reduced server loads: the keep file ``make ns0`` wrote for its profile.

A keep file holds for the asyncua version it was derived from only: another version's namespace 0 may
name its nodes differently, so then the server loads the whole namespace and says why, once per start.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from asyncua import ua

from ..config.opcua import AddressSpace
from .asyncua_seam.ns0 import asyncua_version

log = logging.getLogger(__name__)


def keep_file(profile: AddressSpace) -> Path:
    return Path(__file__).with_name(f"ns0_keep_{profile}.json")


def items_file(profile: AddressSpace) -> Path:
    """The file of the kept nodes' items (asyncua_seam.ns0.save_kept_items) for ``profile``."""
    return Path(__file__).with_name(f"ns0_items_{profile}.pickle")


def kept_items_file(address_space: AddressSpace) -> Path | None:
    """The items file to load for ``address_space``, if it has one."""
    path = items_file(address_space)
    return path if address_space != "full" and path.is_file() else None


def kept_nodes(address_space: AddressSpace) -> frozenset[ua.NodeId] | None:
    """The nodes to load for ``address_space``; None: all of them."""
    if address_space == "full":
        return None
    path = keep_file(address_space)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        derived_from, ids = str(document["asyncua"]), [int(i) for i in document["ids"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning(
            "opcua.address_space %s: %s is unreadable (%s); serving the full one", address_space, path, exc
        )
        return None
    installed = asyncua_version()
    if derived_from != installed:
        log.warning(
            "opcua.address_space %s: its node list was derived from asyncua %s, this is asyncua %s; serving "
            "the full address space until the list is derived again (make ns0)",
            address_space,
            derived_from,
            installed,
        )
        return None
    return frozenset(ua.NodeId(i, 0) for i in ids)
