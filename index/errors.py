"""Errors of the index layer (vectors, embeddings), shown to users as one line."""

from ingest.errors import TinbotError


class ConfigError(TinbotError):
    """A setting is missing or malformed."""


class IndexMismatchError(TinbotError):
    """The index on disk was built with another embedding model than the one configured."""
