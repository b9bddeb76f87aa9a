"""The reference pages' text: the command line, the HTTP API and the configuration options,
each read from the one place that defines it."""

from __future__ import annotations

import argparse
import json
from typing import Any


def command_line() -> str:
    from credd_client.cli.parser import build_parser

    parser = build_parser()
    return "\n".join(_command_sections(parser, "credd", level=2))


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, help, parser) of each subcommand, in the order they were registered."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            seen: set[int] = set()
            for name, sub in action.choices.items():
                if id(sub) in seen:  # an alias
                    continue
                seen.add(id(sub))
                found.append((name, helps.get(name, ""), sub))
    return found


def _command_sections(parser: argparse.ArgumentParser, prog: str, level: int) -> list[str]:
    lines: list[str] = []
    for name, summary, sub in _subcommands(parser):
        full = f"{prog} {name}"
        lines += [f"{'#' * level} `{full}`", ""]
        if summary:
            lines += [_sentence(summary), ""]
        if sub.description and sub.description != summary:
            lines += [sub.description.strip(), ""]
        lines += ["```text", sub.format_usage().strip(), "```", ""]
        options = _options_table(sub)
        if options:
            lines += [*options, ""]
        lines += _command_sections(sub, full, level + 1)
    return lines


def _options_table(parser: argparse.ArgumentParser) -> list[str]:
    rows = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        if action.help == argparse.SUPPRESS:
            continue
        if action.option_strings:
            spelled = ", ".join(f"`{option}`" for option in action.option_strings)
            if action.nargs != 0:
                spelled += f" `{action.metavar or action.dest.upper()}`"
        else:
            spelled = f"`{action.metavar or action.dest.upper()}`"
        rows.append(f"| {spelled} | {_cell(action.help or '')} |")
    if not rows:
        return []
    return ["| argument | meaning |", "| --- | --- |", *rows]


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").replace("%%", "%")


# --- the HTTP API -----------------------------------------------------------------------------


def http_api() -> str:
    from credd.api.routes import create_app

    document: dict[str, Any] = create_app(None).openapi()  # type: ignore[arg-type]
    lines: list[str] = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            lines += _route(method, path, operation)
    lines += ["## Schemas", ""]
    for name, schema in document["components"]["schemas"].items():
        lines += _schema(name, schema)
    return "\n".join(lines)


def _route(method: str, path: str, operation: dict[str, Any]) -> list[str]:
    lines = [f"### `{method.upper()} {path}`", ""]
    for text in (operation.get("summary"), operation.get("description")):
        if text:
            lines += [text.strip(), ""]
    parameters = operation.get("parameters", [])
    if parameters:
        lines += ["| parameter | in | required |", "| --- | --- | --- |"]
        lines += [
            f"| `{p['name']}` | {p['in']} | {'yes' if p.get('required') else 'no'} |"
            for p in parameters
        ]
        lines.append("")
    for media, content in operation.get("requestBody", {}).get("content", {}).items():
        lines += [f"Body ({media}): {_schema_name(content.get('schema', {}))}", ""]
    answers, errors = [], []
    for status, answer in operation.get("responses", {}).items():
        schema = _schema_name(_json_schema(answer))
        if "ErrorOut" in schema or "ValidationError" in schema:
            errors.append(f"`{status}`")
        else:
            answers.append(f"`{status}` {schema}".rstrip())
    if answers:
        lines += ["Answers: " + ", ".join(answers) + ".", ""]
    if errors:
        lines += [f"Errors ([ErrorOut](#errorout)): {', '.join(errors)}.", ""]
    return lines


def _schema(name: str, schema: dict[str, Any]) -> list[str]:
    lines = [f"### {name}", ""]
    if schema.get("description"):
        lines += [schema["description"].strip(), ""]
    properties = schema.get("properties", {})
    if properties:
        required = set(schema.get("required", []))
        lines += ["| field | type | required | meaning |", "| --- | --- | --- | --- |"]
        for field, spec in properties.items():
            lines.append(
                f"| `{field}` | {_cell(_type(spec))} | {'yes' if field in required else 'no'}"
                f" | {_cell(spec.get('description', ''))} |"
            )
        lines.append("")
    elif "enum" in schema:
        lines += [", ".join(f"`{value}`" for value in schema["enum"]), ""]
    return lines


def _json_schema(answer: dict[str, Any]) -> dict[str, Any]:
    content = answer.get("content", {})
    for media in content.values():
        schema: dict[str, Any] = media.get("schema", {})
        return schema
    return {}


def _schema_name(schema: dict[str, Any]) -> str:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[1]
        return f"[{name}](#{name.lower()})"
    return ""


def _type(spec: dict[str, Any]) -> str:
    """A JSON schema's type in words: `list of string`, `Credential or null`."""
    if "$ref" in spec:
        return str(spec["$ref"]).rsplit("/", 1)[1]
    if "anyOf" in spec or "enum" in spec:
        options = [_type(o) for o in spec.get("anyOf", [])]
        options += [json.dumps(value) for value in spec.get("enum", [])]
        return " or ".join(options)
    kind = str(spec.get("type", "any"))
    if kind == "array":
        kind = f"list of {_type(spec.get('items', {}))}"
    elif kind == "object" and "additionalProperties" in spec:
        kind = f"map to {_type(spec['additionalProperties'])}"
    elif spec.get("format") == "date-time":
        kind = "time (RFC 3339)"
    return kind


# --- config.toml ------------------------------------------------------------------------------


def configuration() -> str:
    from credd.config import Config

    lines = ["| option | type | default | meaning |", "| --- | --- | --- | --- |"]
    schema = Config.model_json_schema()["properties"]
    for name, field in Config.model_fields.items():
        default = field.get_default(call_default_factory=True)
        spelled = "none" if default is None else f"`{json.dumps(default)}`"
        lines.append(
            f"| `{name}` | {_cell(_type(schema[name]))} | {spelled} | "
            f"{_cell(field.description or '')} |"
        )
    return "\n".join(lines)
