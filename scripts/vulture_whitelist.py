"""Names vulture cannot see used (``scripts/check`` passes this file to it)."""

_ = object()
_.row_factory  # noqa: B018 - set on sqlite3 connections; sqlite3 reads it
_.ingested_at  # noqa: B018 - ArticleInfo field, printed by `tinbot sources --json`
_.msg  # noqa: B018 - set on logging records by the token filter; the formatter reads it
_.close_connection  # noqa: B018 - read by http.server after a handler returns (the stand-in)
# bench.load's report fields: written out as JSON with dataclasses.asdict.
_.questions_each  # noqa: B018
_.answered_once  # noqa: B018
_.latency_ms  # noqa: B018
_.fault_answers  # noqa: B018
_.soak  # noqa: B018
_.threads  # noqa: B018 - bench.load: a process figure in the JSON report
