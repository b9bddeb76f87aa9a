"""The catalogue of error messages a user can see, read from the code's raise sites.

Every `raise SomeError("...")` in the daemon and the client whose class a user meets (the
shared exception tree, keyed by its wire code, and the few errors that stop `credd serve` or a
command before any request, keyed by class name), and every message a command prints to
standard error. The troubleshooting page has one section per category, its cause and fix
written by hand, and the messages listed from here; tests/unit/test_troubleshooting.py fails
when a category has no section.
"""

from __future__ import annotations

import ast
import importlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = (("credd", ROOT / "daemon" / "credd"), ("credd_client", ROOT / "client" / "credd_client"))
# Errors outside the shared tree that reach a person as they are: a daemon that cannot start,
# a config file, an import source, a helper's own failures.
STANDALONE = frozenset(
    {
        "StartupError",
        "ConfigError",
        "SourceError",
        "ActivationError",
        "PipeStartError",
        "HelperError",
    }
)
PRINTED = "printed"  # the category of messages printed to standard error by a command


@dataclass(frozen=True)
class Message:
    category: str
    text: str
    where: str  # module:line


def messages() -> list[Message]:
    found: list[Message] = []
    for package, folder in SOURCES:
        for path in sorted(folder.rglob("*.py")):
            module = ".".join((package, *path.relative_to(folder).with_suffix("").parts))
            module = module.removesuffix(".__init__")
            found.extend(_messages_of(module, path))
    return found


def categories() -> set[str]:
    return {message.category for message in messages()}


def messages_markdown(category: str) -> str:
    texts = sorted({m.text for m in messages() if m.category == category})
    if not texts:
        raise ValueError(f"no message has the category {category!r}")
    return "\n".join(f"- `{_code_span(text)}`" for text in texts)


def _messages_of(module: str, path: Path) -> list[Message]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            category = _category(module, node.exc.func)
            text = _text(node.exc.args[0]) if node.exc.args else None
        elif _prints_to_stderr(node):
            assert isinstance(node, ast.Call)
            category, text = PRINTED, _text(node.args[0]) if node.args else None
        else:
            continue
        if category is not None and text:
            found.append(Message(category, text, f"{module}:{node.lineno}"))
    return found


def _category(module: str, func: ast.expr) -> str | None:
    name = func.id if isinstance(func, ast.Name) else None
    if name is None:
        return None
    if name in STANDALONE:
        return name
    from credd_client.errors import CreddError

    cls = getattr(importlib.import_module(module), name, None)
    if isinstance(cls, type) and issubclass(cls, CreddError):
        return cls.code
    return None


def _prints_to_stderr(node: ast.AST) -> bool:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        return False
    if node.func.id != "print":
        return False
    return any(
        keyword.arg == "file" and ast.unparse(keyword.value) == "sys.stderr"
        for keyword in node.keywords
    )


def _text(node: ast.expr) -> str | None:
    """A message's template: literal text, with `…` where a value is filled in."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            else:
                parts.append("…")
        return "".join(parts)
    return None


def _code_span(text: str) -> str:
    return " ".join(text.split()).replace("`", "'")


def by_category() -> dict[str, list[Message]]:
    grouped: dict[str, list[Message]] = defaultdict(list)
    for message in messages():
        grouped[message.category].append(message)
    return grouped
