"""A site with its CA made, in a temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from .steps import Site


@pytest.fixture
def site(tmp_path: Path) -> Site:
    site = Site(tmp_path)
    site.init_ca()
    return site
