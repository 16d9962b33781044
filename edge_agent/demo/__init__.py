"""The demo: the agent on a bundled config against a simulated pump and a simulated panel."""

from pathlib import Path

DEMO_CONFIG = Path(__file__).with_name("demo.yaml")
