"""The Sparkplug B topic namespace: an edge node's topics, STATE, parsing, and which ids are refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_agent.sparkplug.topics import (
    DEVICE_MESSAGE_TYPES,
    NODE_MESSAGE_TYPES,
    MessageType,
    NodeTopics,
    ParsedTopic,
    TopicError,
    parse_topic,
    state_topic,
)

NODE = NodeTopics("Plant 1", "edge-7")
# Any id Sparkplug allows: UTF-8 text (no lone surrogates) without '+', '/', '#' or U+0000.
IDS = st.text(
    st.characters(blacklist_characters="+/#\x00", blacklist_categories=("Cs",)), min_size=1, max_size=20
)
INVALID_IDS = ["", "a+b", "line/2", "#", "nul\x00", "\ud800"]


def test_node_topics() -> None:
    assert (NODE.nbirth, NODE.ndeath, NODE.ndata, NODE.ncmd) == (
        "spBv1.0/Plant 1/NBIRTH/edge-7",
        "spBv1.0/Plant 1/NDEATH/edge-7",
        "spBv1.0/Plant 1/NDATA/edge-7",
        "spBv1.0/Plant 1/NCMD/edge-7",
    )


def test_device_topics() -> None:
    assert (NODE.dbirth("pump"), NODE.ddeath("pump"), NODE.ddata("pump"), NODE.dcmd("pump")) == (
        "spBv1.0/Plant 1/DBIRTH/edge-7/pump",
        "spBv1.0/Plant 1/DDEATH/edge-7/pump",
        "spBv1.0/Plant 1/DDATA/edge-7/pump",
        "spBv1.0/Plant 1/DCMD/edge-7/pump",
    )


def test_the_command_filters_are_the_nodes_ncmd_and_every_devices_dcmd() -> None:
    assert NODE.command_filters == ("spBv1.0/Plant 1/NCMD/edge-7", "spBv1.0/Plant 1/DCMD/edge-7/+")


def test_state_topic() -> None:
    assert state_topic("scada-primary") == "spBv1.0/STATE/scada-primary"


def test_a_node_message_type_has_no_device_and_a_device_one_needs_one() -> None:
    with pytest.raises(TopicError):
        NODE.node(MessageType.DDATA)
    with pytest.raises(TopicError):
        NODE.node(MessageType.STATE)
    with pytest.raises(TopicError):
        NODE.device(MessageType.NDATA, "pump")


@pytest.mark.parametrize("value", INVALID_IDS)
def test_ids_with_reserved_characters_or_none_at_all_are_refused(value: str) -> None:
    with pytest.raises(TopicError):
        NodeTopics(value, "edge")
    with pytest.raises(TopicError):
        NodeTopics("group", value)
    with pytest.raises(TopicError):
        NODE.dbirth(value)
    with pytest.raises(TopicError):
        state_topic(value)


def test_the_refusal_names_the_id_and_the_character() -> None:
    with pytest.raises(TopicError, match=r"edge_node_id 'a\+b' holds '\+'"):
        NodeTopics("group", "a+b")


def test_topics_longer_than_mqtt_allows_are_refused() -> None:
    with pytest.raises(TopicError, match="65535"):
        NodeTopics("g" * 40_000, "e" * 30_000)
    with pytest.raises(TopicError, match="65535"):
        NodeTopics("g", "e").ddata("d" * 65_535)


@pytest.mark.parametrize("message_type", sorted(NODE_MESSAGE_TYPES))
def test_a_node_topic_parses_back(message_type: MessageType) -> None:
    assert parse_topic(NODE.node(message_type)) == ParsedTopic(message_type, "Plant 1", "edge-7")


@pytest.mark.parametrize("message_type", sorted(DEVICE_MESSAGE_TYPES))
def test_a_device_topic_parses_back(message_type: MessageType) -> None:
    parsed = parse_topic(NODE.device(message_type, "pump"))

    assert parsed == ParsedTopic(message_type, "Plant 1", "edge-7", device_id="pump")
    assert parsed.node == NODE


def test_a_state_topic_parses_back() -> None:
    parsed = parse_topic("spBv1.0/STATE/scada-primary")

    assert parsed == ParsedTopic(MessageType.STATE, host_id="scada-primary")
    assert parsed.node is None


@given(
    group_id=IDS, edge_node_id=IDS, device_id=IDS, message_type=st.sampled_from(sorted(DEVICE_MESSAGE_TYPES))
)
def test_any_valid_ids_make_topics_that_parse_back_to_them(
    group_id: str, edge_node_id: str, device_id: str, message_type: MessageType
) -> None:
    node = NodeTopics(group_id, edge_node_id)

    assert parse_topic(node.ncmd) == ParsedTopic(MessageType.NCMD, group_id, edge_node_id)
    assert parse_topic(node.device(message_type, device_id)) == ParsedTopic(
        message_type, group_id, edge_node_id, device_id
    )


def test_a_group_named_state_is_not_taken_for_a_state_topic() -> None:
    assert parse_topic(NodeTopics("STATE", "edge").nbirth) == ParsedTopic(MessageType.NBIRTH, "STATE", "edge")


@pytest.mark.parametrize(
    "topic",
    [
        "spAv1.0/Plant 1/NBIRTH/edge-7",
        "spBv1.0/Plant 1/NBIRTH/edge-7/pump",
        "spBv1.0/Plant 1/DBIRTH/edge-7",
        "spBv1.0/Plant 1/NBORN/edge-7",
        "spBv1.0/Plant 1/nbirth/edge-7",
        "spBv1.0/Plant 1/STATE/edge-7",
        "spBv1.0/Plant 1/DDATA/edge-7/pump/extra",
        "spBv1.0//NBIRTH/edge-7",
        "spBv1.0/Plant 1/NDATA/",
        "spBv1.0/Plant 1/DCMD/edge-7/+",
        "spBv1.0/#",
        "spBv1.0/STATE",
        "spBv1.0/STATE/",
        "spBv1.0/STATE/host/extra",
        "STATE/scada-primary",
        "spBv1.0/Plant 1",
        "",
    ],
)
def test_anything_else_is_not_a_sparkplug_topic(topic: str) -> None:
    assert parse_topic(topic) is None
