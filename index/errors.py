"""Errors of the index layer (vectors, embeddings), shown to users as one line."""

from ingest.errors import TinbotError


class ConfigError(TinbotError):
    """A setting is missing or malformed."""


class IndexMismatchError(TinbotError):
    """The index on disk was built with another embedding model than the one configured."""


class StoreError(TinbotError):
    """The data dir cannot be used as it is (read-only, damaged, made by another release)."""


class VectorsUnavailable(StoreError):
    """The Chroma server does not answer: search goes on from the lexical index alone."""
