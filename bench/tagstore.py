"""Cost of publishing a reading through the tag store against a dict and a direct callback."""

from __future__ import annotations

from bench.common import best_of, print_table
from edge_agent.quality import Quality
from edge_agent.tags import Reading, TagInfo
from edge_agent.tagstore import TagStore


def main() -> None:
    store = TagStore([TagInfo("t", "bench", "float")])
    seen: list[Reading] = []
    store.listen(lambda reading: seen.append(reading) if len(seen) < 1 else None)
    reading = Reading("t", 1.0, Quality.Good, 0)

    plain: dict[str, Reading] = {}

    def raw_publish() -> None:
        plain["t"] = Reading("t", reading.value, reading.quality, reading.source_time_ns, 0)
        if len(seen) < 1:
            seen.append(reading)

    print_table(
        "tag store",
        [
            (
                "publish one reading to one listener",
                best_of(lambda: store.publish(reading), number=20000),
                best_of(raw_publish, number=20000),
            )
        ],
    )


if __name__ == "__main__":
    main()
