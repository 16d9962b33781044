"""The Sparkplug B topic namespace: building an edge node's topics and reading a topic back.

Sparkplug 3.0, chapter 4 "Topics and Messages":

    spBv1.0/<group_id>/<message_type>/<edge_node_id>             NBIRTH NDEATH NDATA NCMD
    spBv1.0/<group_id>/<message_type>/<edge_node_id>/<device_id> DBIRTH DDEATH DDATA DCMD
    spBv1.0/STATE/<host_id>                                      a host application's state

An id is any UTF-8 string without '+', '/' or '#' (tck-id-topic-structure-namespace-valid-group-id,
-edge-node-id, -device-id), and only characters MQTT allows in a topic (tck-id-intro-group-id-chars):
so no U+0000 either. An empty id would make an empty topic level, which no Sparkplug peer expects, and
is refused too.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

NAMESPACE = "spBv1.0"
_RESERVED = frozenset("+/#\x00")
_MAX_TOPIC_BYTES = 65535  # an MQTT UTF-8 string's length is a 16-bit number


class MessageType(StrEnum):
    NBIRTH = "NBIRTH"
    NDEATH = "NDEATH"
    NDATA = "NDATA"
    NCMD = "NCMD"
    DBIRTH = "DBIRTH"
    DDEATH = "DDEATH"
    DDATA = "DDATA"
    DCMD = "DCMD"
    STATE = "STATE"


NODE_MESSAGE_TYPES = frozenset({MessageType.NBIRTH, MessageType.NDEATH, MessageType.NDATA, MessageType.NCMD})
DEVICE_MESSAGE_TYPES = frozenset(
    {MessageType.DBIRTH, MessageType.DDEATH, MessageType.DDATA, MessageType.DCMD}
)


class TopicError(ValueError):
    """An id that cannot be a level of a Sparkplug topic, or a message type that does not fit the topic."""


def check_id(kind: str, value: str) -> str:
    """``value`` if it can be a Sparkplug id (the module's rules); raises TopicError naming ``kind``."""
    if not value:
        raise TopicError(f"the {kind} is empty")
    reserved = sorted(_RESERVED.intersection(value))
    if reserved:
        shown = ", ".join(repr(character) for character in reserved)
        raise TopicError(f"the {kind} {value!r} holds {shown}, which Sparkplug reserves")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise TopicError(f"the {kind} {value!r} is not valid UTF-8") from None
    return value


@dataclass(frozen=True, slots=True)
class NodeTopics:
    """The topics of one edge node (its Edge Node Descriptor, group_id/edge_node_id) and its devices."""

    group_id: str
    edge_node_id: str

    def __post_init__(self) -> None:
        check_id("group_id", self.group_id)
        check_id("edge_node_id", self.edge_node_id)
        # Device topics, the longest, must still fit MQTT's limit with a one-byte device id.
        shortest_device_topic = f"{NAMESPACE}/{self.group_id}/{MessageType.DBIRTH}/{self.edge_node_id}/d"
        if len(shortest_device_topic.encode()) > _MAX_TOPIC_BYTES:
            raise TopicError(f"group_id and edge_node_id make topics longer than {_MAX_TOPIC_BYTES} bytes")

    def node(self, message_type: MessageType) -> str:
        """The edge node's topic for an NBIRTH, NDEATH, NDATA or NCMD."""
        if message_type not in NODE_MESSAGE_TYPES:
            raise TopicError(f"{message_type} is not an edge node message type")
        return f"{NAMESPACE}/{self.group_id}/{message_type}/{self.edge_node_id}"

    def device(self, message_type: MessageType, device_id: str) -> str:
        """A device's topic for a DBIRTH, DDEATH, DDATA or DCMD."""
        if message_type not in DEVICE_MESSAGE_TYPES:
            raise TopicError(f"{message_type} is not a device message type")
        check_id("device_id", device_id)
        topic = f"{NAMESPACE}/{self.group_id}/{message_type}/{self.edge_node_id}/{device_id}"
        if len(topic.encode()) > _MAX_TOPIC_BYTES:
            raise TopicError(f"device_id {device_id[:40]!r}... makes a topic over {_MAX_TOPIC_BYTES} bytes")
        return topic

    @property
    def nbirth(self) -> str:
        return self.node(MessageType.NBIRTH)

    @property
    def ndeath(self) -> str:
        return self.node(MessageType.NDEATH)

    @property
    def ndata(self) -> str:
        return self.node(MessageType.NDATA)

    @property
    def ncmd(self) -> str:
        return self.node(MessageType.NCMD)

    def dbirth(self, device_id: str) -> str:
        return self.device(MessageType.DBIRTH, device_id)

    def ddeath(self, device_id: str) -> str:
        return self.device(MessageType.DDEATH, device_id)

    def ddata(self, device_id: str) -> str:
        return self.device(MessageType.DDATA, device_id)

    def dcmd(self, device_id: str) -> str:
        return self.device(MessageType.DCMD, device_id)

    @property
    def command_filters(self) -> tuple[str, str]:
        """The subscriptions that bring the node its commands: its NCMD, and the DCMD of every device."""
        return self.ncmd, f"{NAMESPACE}/{self.group_id}/{MessageType.DCMD}/{self.edge_node_id}/+"


def state_topic(host_id: str) -> str:
    """A host application's STATE topic (tck-id-host-topic-phid-birth-topic), which edge nodes watch."""
    return f"{NAMESPACE}/{MessageType.STATE}/{check_id('host_id', host_id)}"


@dataclass(frozen=True, slots=True)
class ParsedTopic:
    """What a Sparkplug topic names: the message type and either the node (and device) or the host."""

    message_type: MessageType
    group_id: str | None = None
    edge_node_id: str | None = None
    device_id: str | None = None
    host_id: str | None = None

    @property
    def node(self) -> NodeTopics | None:
        """The edge node the topic is about; None for STATE."""
        if self.group_id is None or self.edge_node_id is None:
            return None
        return NodeTopics(self.group_id, self.edge_node_id)


def parse_topic(topic: str) -> ParsedTopic | None:
    """What ``topic`` names, or None when it is not a Sparkplug B topic this module could have built.

    None for another namespace, an unknown message type, a device id on a node message or none on a
    device message, and any level that is not a valid id.
    """
    levels = topic.split("/")
    if len(levels) < 3 or levels[0] != NAMESPACE or not all(_valid_id(level) for level in levels[1:]):
        return None
    if len(levels) == 3:
        if levels[1] != MessageType.STATE:
            return None
        return ParsedTopic(MessageType.STATE, host_id=levels[2])
    if len(levels) > 5:
        return None
    try:
        message_type = MessageType(levels[2])
    except ValueError:
        return None
    group_id, edge_node_id = levels[1], levels[3]
    if len(levels) == 4 and message_type in NODE_MESSAGE_TYPES:
        return ParsedTopic(message_type, group_id, edge_node_id)
    if len(levels) == 5 and message_type in DEVICE_MESSAGE_TYPES:
        return ParsedTopic(message_type, group_id, edge_node_id, device_id=levels[4])
    return None


def _valid_id(value: str) -> bool:
    try:
        check_id("id", value)
    except TopicError:
        return False
    return True
