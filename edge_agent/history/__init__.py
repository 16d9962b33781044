"""The bounded on-disk history of tag readings (see ``store``)."""

from .samples import HistoryPage, Position
from .store import HistoryStore, HistoryUnavailableError

__all__ = ["HistoryPage", "HistoryStore", "HistoryUnavailableError", "Position"]
