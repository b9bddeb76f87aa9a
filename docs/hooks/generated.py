"""MkDocs hook: the reference pages, generated from the code at every build so they cannot drift.

A page holds a marker comment where generated text goes:

    <!-- generated: cli -->            every command and option, from the argument parser
    <!-- generated: api -->            every route and schema, from the OpenAPI document
    <!-- generated: config -->         every config.toml option, from the config model
    <!-- generated: errors CATEGORY --> every message of one error category, from the raise sites
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import catalogue  # noqa: E402 - the sibling module, found through the path set above
import reference  # noqa: E402

_MARKER = re.compile(r"<!-- generated: (?P<what>[a-z]+)(?: (?P<arg>[A-Za-z_]+))? -->")


def on_page_markdown(markdown: str, **_: Any) -> str:
    return _MARKER.sub(_expand, markdown)


def _expand(match: re.Match[str]) -> str:
    what, arg = match["what"], match["arg"]
    if what == "cli":
        return reference.command_line()
    if what == "api":
        return reference.http_api()
    if what == "config":
        return reference.configuration()
    if what == "errors" and arg:
        return catalogue.messages_markdown(arg)
    raise ValueError(f"unknown generated section {match[0]!r}")
