"""The boundaries the code is organised by, checked on the source so that a change across one shows."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.support.import_graph import circles, import_graph, module_files

ROOT = Path(__file__).resolve().parent.parent
SEAM = "edge_agent.opcua.asyncua_seam"
# asyncua's internals: its server modules, the Server's InternalServer and its private attributes.
ASYNCUA_INTERNALS = re.compile(
    r"\basyncua\.server\b|\.iserver\b|\._(policies|binary_server|make_protocol|monitored_items)\b"
)


def test_no_module_imports_itself_through_others_at_import_time_or_on_call() -> None:
    assert circles(import_graph(ROOT, with_calls=False)) == []
    assert circles(import_graph(ROOT, with_calls=True)) == []


def test_the_config_language_knows_no_driver() -> None:
    graph = import_graph(ROOT, with_calls=True)
    arrows = [
        f"{source} -> {target}"
        for source, targets in graph.items()
        if source == "edge_agent.config" or source.startswith("edge_agent.config.")
        for target in targets
        if target == "drivers" or target.startswith("drivers.")
    ]
    assert arrows == []


def test_asyncua_internals_are_used_only_in_the_seam_package() -> None:
    outside = [
        f"{name}: {line.strip()}"
        for name, path in module_files(ROOT).items()
        if name != SEAM and not name.startswith(SEAM + ".")
        for line in path.read_text(encoding="utf-8").splitlines()
        if ASYNCUA_INTERNALS.search(line) and not line.lstrip().startswith("#")
    ]
    assert outside == [], "asyncua internals outside edge_agent/opcua/asyncua_seam: see its docstring"


def test_an_agent_without_http_mqtt_or_models_loads_none_of_their_stacks() -> None:
    # aiohttp (the AAS API), aiomqtt with protobuf (Sparkplug) and numpy with the TFLite interpreter
    # (models) cost some 20 MB each: only configs that have those sections pay for them.
    stacks = ("aiohttp", "aiomqtt", "paho", "google.protobuf", "numpy", "tflite_runtime", "ai_edge_litert")
    probe = (
        "import sys, edge_agent.runtime.agent, edge_agent.cli; "
        f"print(sorted(m for m in {stacks!r} if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def test_a_serving_agent_loads_no_xml_or_aasx_writer() -> None:
    # aas-core's XML serializer and pyecma376_2 with lxml cost some 6 MB: only an export, or an HTTP
    # request for XML or AASX, pays for them; difflib only explains a mistaken config.
    probe = (
        "import sys, edge_agent.runtime.agent, edge_agent.aas_api.server, edge_agent.cli; "
        "lazy = ('aas_core3.xmlization', 'pyecma376_2', 'lxml', 'difflib'); "
        "print(sorted(m for m in lazy if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
