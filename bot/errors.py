"""User-facing errors, all in one place for the front ends: those of the lower layers are
defined there (``ingest/errors.py``, ``index/errors.py``) and re-exported here."""

from index.errors import ConfigError, IndexMismatchError, StoreError
from ingest.errors import (
    BlockedURLError,
    EmptySourceError,
    IngestError,
    SourceTooLargeError,
    TinbotError,
    UnsupportedSourceError,
)

__all__ = [
    "BlockedURLError",
    "ConfigError",
    "EmptySourceError",
    "IndexMismatchError",
    "IngestError",
    "SourceTooLargeError",
    "StoreError",
    "StoreLockedError",
    "TinbotError",
    "UnsupportedSourceError",
]


class StoreLockedError(TinbotError):
    """Another process is writing to the data directory."""
