"""The troubleshooting page covers every error a user can see: each category the catalogue
finds at the code's raise sites (and every code of the shared exception tree) has a section
with its cause and fix, and the section lists the category's messages (docs/hooks)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from credd_client import errors

HOOKS = Path(__file__).resolve().parents[2] / "docs" / "hooks"
PAGE = HOOKS.parent / "troubleshooting.md"
sys.path.insert(0, str(HOOKS))

import catalogue  # noqa: E402 - docs/hooks, put on the path above


def _sections() -> dict[str, str]:
    """Each `### \\`category\\`` heading of the page and the text up to the next heading."""
    text = PAGE.read_text(encoding="utf-8")
    parts = re.split(r"^### `([A-Za-z_]+)`\n", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def test_every_category_of_message_has_a_section_listing_its_messages() -> None:
    sections = _sections()
    missing = sorted(catalogue.categories() - set(sections))
    assert not missing, f"troubleshooting.md has no section for {missing}"
    for category in catalogue.categories():
        assert f"<!-- generated: errors {category} -->" in sections[category], category


def test_every_code_of_the_exception_tree_has_a_section() -> None:
    codes = {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type)
        and issubclass(cls, errors.CreddError)
        and cls is not errors.CreddError
    }
    missing = sorted(codes - set(_sections()))
    assert not missing, f"troubleshooting.md has no section for {missing}"


def test_a_section_that_lists_messages_has_some() -> None:
    for category, text in _sections().items():
        if "<!-- generated: errors" in text:
            assert catalogue.messages_markdown(category).startswith("- `")


def test_the_catalogue_finds_a_known_message_and_fills_values_with_an_ellipsis() -> None:
    found = {m.text for m in catalogue.messages() if m.category == "not_found"}
    assert "no credential named …" in found


@pytest.mark.parametrize("category", ["StartupError", "locked", "printed"])
def test_messages_name_where_they_are_raised(category: str) -> None:
    for message in catalogue.messages():
        if message.category == category:
            module, line = message.where.rsplit(":", 1)
            assert module.startswith(("credd", "credd_client"))
            assert int(line) > 0
