"""Errors of reading sources. Each carries a message a person can act on; the CLI and the bot
print it as one line instead of a traceback. ``TinbotError`` is the base of every error tinbot
shows to users, in every layer."""


class TinbotError(Exception):
    """Base class for errors shown to users as a single readable line."""


class IngestError(TinbotError):
    """A source could not be ingested; the stores were left as they were."""


class UnsupportedSourceError(IngestError):
    """The file type, URL scheme or content type is not one tinbot reads."""


class SourceTooLargeError(IngestError):
    """The source exceeds a configured size cap."""


class EmptySourceError(IngestError):
    """The source holds no article text after cleaning."""


class BlockedURLError(IngestError):
    """The URL points at a private, loopback or link-local address, or is otherwise refused."""
