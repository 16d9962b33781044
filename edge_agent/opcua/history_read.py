"""OPC UA HistoryRead of the tag variables, answered from the history store.

Raw reads (ReadRawModifiedDetails) follow OPC UA Part 11: the start time is included and the end time is
not; an end before the start, or an end time alone, reads newest first; equal start and end times read
the values at that instant. NumValuesPerNode bounds each response, and a continuation point is returned
while more values remain. Bounding values (ReturnBounds) are not returned, and history is never
modified, so a read of modified values is always empty. Timestamps are compared to the microsecond, the
resolution clients see.

asyncua's HistoryManager passes a continuation point to its storage as a bare timestamp, which can say
neither where to go on among values with the same timestamp nor the direction of a read given only an
end time. So ``enable_history`` puts a manager in its place whose continuation points carry the whole
read: bounds, direction, page size, and the position after the last value returned. They hold no state
in the server; the specification lets a client ask again with them as long as the samples remain.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from asyncua import Server, ua

from ..history import HistoryStore, HistoryUnavailableError, Position
from ..tags import Reading, TagInfo
from .asyncua_seam import replace_attribute, serve_history_reads, stored_value
from .tag_values import TagValueError, to_datavalue, to_variant

log = logging.getLogger(__name__)

MAX_VALUES_PER_RESPONSE = 1000
"""The most values of one node in one response, whatever the client asks: the rest follow by
continuation points, so that a long range never builds one huge message."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class RawRead:
    """One raw read of one node's history, as the store sees it: source times in ``[lower_ns, upper_ns)``
    (None: unbounded), newest first when ``reverse``, ``page_size`` values per response (0: no limit)."""

    lower_ns: int | None
    upper_ns: int | None
    reverse: bool
    page_size: int
    after: Position | None = None

    _LAYOUT = struct.Struct(">BB5q")
    _VERSION = 1
    _NONE = -(2**63)

    @classmethod
    def from_details(cls, details: ua.ReadRawModifiedDetails) -> RawRead | None:
        """The read a client asked for; None when it gave neither a start nor an end time."""
        start, end = _microseconds(details.StartTime), _microseconds(details.EndTime)
        page_size = details.NumValuesPerNode
        if start is None:
            return None if end is None else cls(None, end * 1000, True, page_size)
        if end is None:
            return cls(start * 1000, None, False, page_size)
        if start == end:
            return cls(start * 1000, (start + 1) * 1000, False, page_size)
        if start < end:
            return cls(start * 1000, end * 1000, False, page_size)
        # Newest first from the start time (included) down to the end time (not included).
        return cls((end + 1) * 1000, (start + 1) * 1000, True, page_size)

    def pack(self) -> bytes:
        """The continuation point that goes on with this read after ``after``."""
        assert self.after is not None
        return self._LAYOUT.pack(
            self._VERSION,
            int(self.reverse),
            self._NONE if self.lower_ns is None else self.lower_ns,
            self._NONE if self.upper_ns is None else self.upper_ns,
            self.page_size,
            self.after.source_time_ns,
            self.after.sample_id,
        )

    @classmethod
    def unpack(cls, point: bytes) -> RawRead:
        """The read a continuation point goes on with; ValueError if it is none of ours."""
        try:
            version, reverse, lower, upper, page_size, time_ns, sample_id = cls._LAYOUT.unpack(point)
        except struct.error:
            raise ValueError("not a continuation point of this server") from None
        if version != cls._VERSION or reverse not in (0, 1) or page_size < 0:
            raise ValueError("not a continuation point of this server")
        return cls(
            None if lower == cls._NONE else lower,
            None if upper == cls._NONE else upper,
            bool(reverse),
            page_size,
            Position(time_ns, sample_id),
        )


class TagHistoryStorage:
    """HistoryRead of the tag variables, answered from the agent's HistoryStore.

    asyncua's own history storage never sees these reads: its continuation points are bare timestamps,
    which cannot page every read (see the module docstring).
    """

    def __init__(
        self,
        store: HistoryStore,
        nodes: Mapping[ua.NodeId, TagInfo],
        *,
        max_values_per_response: int = MAX_VALUES_PER_RESPONSE,
    ) -> None:
        self.max_history_data_response_size = max_values_per_response
        self._store = store
        self._nodes = dict(nodes)

    async def read_history(self, params: ua.HistoryReadParameters) -> list[ua.HistoryReadResult]:
        """The answer to a HistoryRead request: raw reads per node; other kinds are unsupported."""
        if params.ReleaseContinuationPoints:
            # Continuation points hold no state here: there is nothing to release.
            return [ua.HistoryReadResult() for _ in params.NodesToRead]
        details = params.HistoryReadDetails
        if params.TimestampsToReturn == ua.TimestampsToReturn.Invalid:
            return [_failed(ua.StatusCodes.BadTimestampsToReturnInvalid) for _ in params.NodesToRead]
        results = []
        for node in params.NodesToRead:
            if isinstance(details, ua.ReadRawModifiedDetails):
                results.append(
                    await self.read_raw(
                        node.NodeId, details, node.ContinuationPoint, params.TimestampsToReturn
                    )
                )
            else:
                results.append(_failed(ua.StatusCodes.BadHistoryOperationUnsupported))
        return results

    async def read_raw(
        self,
        node_id: ua.NodeId,
        details: ua.ReadRawModifiedDetails,
        continuation_point: bytes | None,
        timestamps: ua.TimestampsToReturn,
    ) -> ua.HistoryReadResult:
        """One node's answer to a raw (or modified) HistoryRead."""
        result = ua.HistoryReadResult()
        info = self._nodes.get(node_id)
        if info is None:
            return _failed(ua.StatusCodes.BadHistoryOperationUnsupported)
        if details.IsReadModified:
            result.HistoryData = ua.HistoryModifiedData()
            return result
        if continuation_point:
            try:
                read = RawRead.unpack(continuation_point)
            except ValueError:
                return _failed(ua.StatusCodes.BadContinuationPointInvalid)
        else:
            asked = RawRead.from_details(details)
            if asked is None:
                return _failed(ua.StatusCodes.BadInvalidTimestampArgument)
            read = asked
        page_size = min(
            read.page_size or self.max_history_data_response_size, self.max_history_data_response_size
        )
        try:
            page = await self._store.read_page(
                info.name,
                start_ns=read.lower_ns,
                end_ns=read.upper_ns,
                max_values=page_size,
                reverse=read.reverse,
                after=read.after,
            )
        except HistoryUnavailableError as exc:
            log.warning("history of %s cannot be read: %s", info.name, exc)
            return _failed(ua.StatusCodes.BadDataUnavailable)
        result.HistoryData = ua.HistoryData(
            DataValues=[_datavalue(info, r, timestamps) for r in page.readings]
        )
        if page.next is not None:
            result.ContinuationPoint = replace(read, after=page.next).pack()
        elif not page.readings:
            result.StatusCode = ua.StatusCode(ua.StatusCodes.GoodNoData)
        return result


async def enable_history(
    server: Server, store: HistoryStore, nodes: Mapping[ua.NodeId, TagInfo]
) -> TagHistoryStorage:
    """Serve HistoryRead of ``nodes`` (tag variables) from ``store``; marks them as historizing.

    Call after ``server.init()``; the store keeps being fed and closed by its owner.
    """
    storage = TagHistoryStorage(store, nodes)
    serve_history_reads(server, storage.read_history)
    for node_id in nodes:
        # New attribute objects, not writes into the old ones: only these nodes are historizing.
        for attribute in (ua.AttributeIds.AccessLevel, ua.AttributeIds.UserAccessLevel):
            current = stored_value(server, node_id, attribute)
            assert current is not None and current.Value is not None
            level = current.Value.Value | ua.AccessLevel.HistoryRead.mask
            replace_attribute(
                server, node_id, attribute, ua.DataValue(ua.Variant(level, ua.VariantType.Byte))
            )
        replace_attribute(
            server,
            node_id,
            ua.AttributeIds.Historizing,
            ua.DataValue(ua.Variant(True, ua.VariantType.Boolean)),
        )
    return storage


def _datavalue(info: TagInfo, reading: Reading, timestamps: ua.TimestampsToReturn) -> ua.DataValue:
    try:
        variant, quality = to_variant(info, reading.value), reading.quality
    except TagValueError as exc:
        # A sample recorded before the tag changed type: its status says why it has no value.
        variant, quality = ua.Variant(None, ua.VariantType.Null), exc.quality
    datavalue = to_datavalue(variant, quality, reading)
    if timestamps in (ua.TimestampsToReturn.Server, ua.TimestampsToReturn.Neither):
        datavalue = replace(datavalue, SourceTimestamp=None)
    if timestamps in (ua.TimestampsToReturn.Source, ua.TimestampsToReturn.Neither):
        datavalue = replace(datavalue, ServerTimestamp=None)
    return datavalue


def _microseconds(time: datetime | None) -> int | None:
    """Microseconds since 1970 of a request's time; None for DateTime.MinValue, "no time given"."""
    if time is None:
        return None
    if time.tzinfo is None:
        time = time.replace(tzinfo=UTC)
    if time <= ua.get_win_epoch():
        return None
    return (time - _EPOCH) // _MICROSECOND


def _failed(status: int) -> ua.HistoryReadResult:
    return ua.HistoryReadResult(StatusCode=ua.StatusCode(status))
