"""OPC UA status codes used as tag quality.

The values are those of OPC UA Part 4 / Part 6 (the same numbers asyncua's ``ua.StatusCodes`` carries).
They are repeated here so that drivers can speak of quality without importing the OPC UA stack,
which costs ~100 MB of RSS and is not needed to check a config or plan Modbus requests.
"""

from __future__ import annotations

from enum import IntEnum


class Quality(IntEnum):
    """A tag's quality: an OPC UA StatusCode value."""

    Good = 0x00000000
    UncertainLastUsableValue = 0x40900000
    UncertainInitialValue = 0x40920000
    BadInternalError = 0x80020000
    BadUserAccessDenied = 0x801F0000
    BadCommunicationError = 0x80050000
    BadTimeout = 0x800A0000
    BadNoCommunication = 0x80310000
    BadWaitingForInitialData = 0x80320000
    BadNotWritable = 0x803B0000
    BadOutOfRange = 0x803C0000
    BadTypeMismatch = 0x80740000
    BadConfigurationError = 0x80890000
    BadNotConnected = 0x808A0000
    BadDeviceFailure = 0x808B0000
    BadSensorFailure = 0x808C0000
    BadOutOfService = 0x808D0000

    @property
    def is_good(self) -> bool:
        return (self >> 30) == 0  # not self.value: an enum's .value is a slow descriptor

    @property
    def is_bad(self) -> bool:
        return (self >> 30) == 2
