"""Every benchmark, one after another: `make bench`."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import (
    aas_api,
    commands,
    footprint,
    inference,
    modbus,
    opcua,
    sparkplug,
    sparkplug_fleet,
    startup,
    status_page,
    tagstore,
)

if __name__ == "__main__":
    for bench in (
        tagstore,
        inference,
        modbus,
        opcua,
        aas_api,
        status_page,
        sparkplug,
        sparkplug_fleet,
        startup,
        footprint,
        commands,
    ):
        bench.main()
