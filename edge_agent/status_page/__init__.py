"""The technician's status page on the HTTP face: health, sources, models and every tag at a glance."""

from .model import IdentitySummary, PageModel, StatusSource, collect
from .routes import StatusRoutes

__all__ = ["IdentitySummary", "PageModel", "StatusRoutes", "StatusSource", "collect"]
