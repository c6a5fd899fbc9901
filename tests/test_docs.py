"""Docs that must match the code."""

import re

from bot.cli import build_parser
from bot.settings import settings_table
from tests.conftest import REPO


def test_readme_configuration_table_matches_settings() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- settings-table.*?-->\n(.*?)<!-- /settings-table -->", readme, re.S)
    assert block, "README lost its settings table markers"
    assert block.group(1).strip() == settings_table().strip()


def test_readme_lists_every_cli_command() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    parser = build_parser()
    assert parser._subparsers is not None
    commands = parser._subparsers._group_actions[0].choices
    assert isinstance(commands, dict)
    for name in commands:
        assert f"`tinbot {name}" in readme, f"README does not document `tinbot {name}`"
