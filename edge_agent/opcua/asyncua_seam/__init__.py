"""Every use of asyncua's internals, in one place: raising asyncua's version pin is a job for this package.

The rest of ``edge_agent.opcua`` uses asyncua's public API (``asyncua.Server``, ``Node``, ``ua``, the
``asyncua.crypto`` modules its examples use, and the types its public attributes take, such as
``TransportLimits`` for ``Server.limits`` and ``ServiceError`` for a certificate validator) and this
package. Internals are ``asyncua.server.*`` modules, ``Server.iserver`` and anything asyncua names with a
leading underscore. ``tests/opcua/test_asyncua_seam.py`` holds one contract test per seam below: when
asyncua changes under one, that test fails naming it.

The seams, and why no public hook serves:

S1 sessions.AgentInternalServer (subclass of InternalServer: create_session, register_server,
   verify_x509_token). asyncua caps sessions with a process-wide class attribute, answers RegisterServer
   from anyone, and hands X509 user tokens on as bare bytes; none of it is configurable.
S2 sessions.AgentSession, AgentUaProcessor, AgentProtocol, AgentServer.bserver (subclasses of
   InternalSession, UaProcessor, OPCUAProtocol; replaces BinaryServer._make_protocol). The per-connection
   message loop is not pluggable; it is where a session is bound to its channel and certificate, where
   an unactivated connection gets a deadline and where oversized chunks are refused before buffering.
S3 server.build_server, use_identity, set_unsecured_channel_ruleset (Server(iserver=...),
   iserver.certificate/private_key, Server._policies). The unsecured channel every client may open for
   GetEndpoints has no public permission ruleset; certificates load only from files or encoded bytes.
S4 nodes.direct_nodes, add_node (direct.DirectNodes puts NodeData into iserver.aspace;
   iserver.isession.add_nodes). asyncua's AddNodes
   compares each new node with every sibling reference (quadratic, a minute for 10,000 tags) and makes
   ~24 attribute objects per node that were shared only afterwards.
S5 compact.AttributeSharer, nodes.share_attributes (AddressSpace, NodeData.attributes, AttributeValue).
   Equal attribute values of thousands of nodes become one object: a third of the memory per tag.
S6 nodes.value_attribute, use_value_attribute, set_value, notify_watchers (AttributeValue.value,
   datachange_callbacks). Readings update values synchronously on the hot path and notify subscribers
   from one task; Server.write_attribute_value is async per value. An alias node shares the attribute.
S7 nodes.compute_on_read, replace_attribute, stored_value (AttributeValue.value_callback, iteration of
   the address space). UserAccessLevel and UserExecutable per caller (Part 3); Server has a per-node
   callback setter but no way to find the nodes or the attribute objects shared by S5.
S8 services.route_value_writes (subclass of AttributeService). Writes of tag values go to the device and
   answer with its status; value setters run after asyncua's own checks and cannot answer.
S9 services.judge_method_calls (subclass of MethodService). Each method of a Call is judged and audited
   on its own (Part 4); asyncua's permission ruleset sees the whole request.
S10 services.serve_history_reads (subclass of HistoryManager). asyncua's storage interface gets
   continuation points as bare timestamps, which cannot page every read.
S11 subscriptions.find_subscription, Subscription (SubscriptionService.subscriptions,
   InternalSubscription.monitored_item_srv._monitored_items, enqueue_datachange_event). asyncua declares
   GetMonitoredItems and ResendData but does not run them, and lists no monitored items publicly.
S12 ns0.ReducibleInternalServer, standard_nodes, asyncua_sources (overrides
   InternalServer.load_standard_address_space; runs standard_address_space's PostponeReferences and
   create_standard_address_space_Services through a filter of kept node ids, then drops the generated
   modules from sys.modules). asyncua loads all of namespace 0 (6,000 nodes, a second and 40 MB on a small
   device) or a shelf file of it; Server.init takes no node set and there is no hook between the
   generated code and the address space, so a reduced namespace 0 (opcua.address_space) needs both.

Upstream issue (to be filed at FreeOpcUa/opcua-asyncio; S1 and S2 shrink to nothing once fixed):

    Title: Server sessions: CreateSession on unsecured channels, certificate not bound to the channel,
    session takeover by token, unactivated sessions without a deadline

    asyncua 2.1's server differs from OPC UA Part 4 (5.6.2 CreateSession, 5.6.3 ActivateSession) in four
    ways that let a client without credentials hold resources or another client's session:

    1. CreateSession is answered on any channel, including the SecurityPolicy None channel a server must
       open for GetEndpoints even when it offers no None endpoint. A client can create sessions without
       ever proving its certificate. Expected: CreateSession on a channel whose policy the server does not
       offer for sessions fails with Bad_SecurityPolicyRejected.
    2. The clientCertificate named in CreateSession is validated, but never compared with the certificate
       the secure channel was opened with, so a client may name any trusted certificate it has a copy of.
       Part 4 requires it to be the channel's certificate (Bad_SecurityChecksFailed otherwise). On a None
       channel the spec says the certificate shall be ignored; asyncua validates it and rejects clients
       (UaExpert, node-opcua) that send theirs.
    3. ActivateSession looks the session up by its authenticationToken from any channel. The token is a
       small counter, so a client on another connection can guess it and take the session over. Expected:
       a session is activated only over the secure channel that created it (or, for a transfer, one whose
       client proves the same certificate and user).
    4. A created but never activated session stays registered with no deadline, and sessions are capped
       only by a process-wide class attribute, so one connection can create sessions until memory runs
       out. Expected: a session not activated within its RevisedSessionTimeout is closed; the cap is per
       server and counts activated sessions.

    A per-connection hook (a factory for the UaProcessor, or events "session created/activated" with the
    channel's security policy and peer certificate) would let servers enforce these without subclassing.
"""

from .compact import AttributeSharer
from .direct import DirectNodes, NodeShape
from .nodes import (
    Reader,
    ValueAttribute,
    add_node,
    compute_on_read,
    direct_nodes,
    notify_watchers,
    replace_attribute,
    set_value,
    share_attributes,
    stored_value,
    use_value_attribute,
    value_attribute,
)
from .ns0 import (
    ReducibleInternalServer,
    StandardNode,
    StandardReference,
    asyncua_sources,
    kept_items,
    save_kept_items,
    standard_nodes,
)
from .server import activated_sessions, build_server, set_unsecured_channel_ruleset, use_identity
from .services import judge_method_calls, route_value_writes, serve_history_reads
from .subscriptions import MonitoredItemIds, Subscription, find_subscription

__all__ = [
    "AttributeSharer",
    "DirectNodes",
    "MonitoredItemIds",
    "NodeShape",
    "Reader",
    "ReducibleInternalServer",
    "StandardNode",
    "StandardReference",
    "Subscription",
    "ValueAttribute",
    "activated_sessions",
    "add_node",
    "asyncua_sources",
    "build_server",
    "compute_on_read",
    "direct_nodes",
    "find_subscription",
    "judge_method_calls",
    "kept_items",
    "notify_watchers",
    "replace_attribute",
    "route_value_writes",
    "save_kept_items",
    "serve_history_reads",
    "set_unsecured_channel_ruleset",
    "set_value",
    "share_attributes",
    "standard_nodes",
    "stored_value",
    "use_identity",
    "use_value_attribute",
    "value_attribute",
]
