"""Names vulture cannot see used (``scripts/check`` passes this file to it)."""

_ = object()
_.row_factory  # noqa: B018 - set on sqlite3 connections; sqlite3 reads it
_.ingested_at  # noqa: B018 - ArticleInfo field, printed by `tinbot sources --json`
