"""The completion scripts of bash, zsh and fish, written from the parser's table.

Each script knows the commands and options as literal lists and asks `credd completion
--names` for credential names only when one is being completed. Credential names hold `:`,
`/` and spaces: bash splits words at `:` (COMP_WORDBREAKS), so its script completes the
whole argument as typed (from COMP_LINE) and answers only the part bash replaces; zsh and
fish quote what they insert themselves. The bash script keeps to bash 3.2 (macOS): no
associative arrays, no `compopt`, no `mapfile`.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .completion import Command


def render(shell: str, table: list[Command]) -> str:
    return {"bash": _bash, "zsh": _zsh, "fish": _fish}[shell](table)


def _words(items: list[str]) -> str:
    """Words for a shell list; commands and options are plain tokens (letters, `-`)."""
    assert all(item.replace("-", "").replace("_", "").isalnum() for item in items), items
    return " ".join(items)


def _single_quoted(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


BASH = r"""# credd completion for bash (3.2 or newer): eval "$(credd completion bash)"
_credd_words_of() {
    case $1 in
%(options)s
    esac
}
_credd_takes_value() {
    case "$1 $2" in
%(values)s
    esac
    return 1
}
_credd_subcommands_of() {
    case $1 in
%(subcommands)s
    esac
}
_credd_takes_names() {
    case $1 in
        %(name_commands)s) return 0 ;;
    esac
    return 1
}
_credd_takes_files() {
    case $1 in
        %(file_commands)s) return 0 ;;
    esac
    return 1
}
_credd_complete() {
    COMPREPLY=()
    local cur="${COMP_WORDS[COMP_CWORD]}" line="${COMP_LINE:0:COMP_POINT}"
    if [ "$COMP_CWORD" -le 1 ]; then
        COMPREPLY=($(compgen -W "%(commands)s --help --version" -- "$cur"))
        return 0
    fi
    local command="${COMP_WORDS[1]}"
    # The argument as typed, backslashes and quotes included: from the last blank that is
    # not escaped. COMP_WORDS may have split it at `:` or `=`.
    local raw="${line##*[!\\][ 	]}"
    [ "$raw" = "$line" ] && raw=""
    case $cur in
        \"*|\'*) raw="$cur" ;;  # inside a quote: bash kept the whole argument as one word
    esac
    local before="${line%%"$raw"}" previous
    before="${before%%"${before##*[! 	]}"}"
    previous="${before##*[ 	]}"
    case $raw in
        -*)
            COMPREPLY=($(compgen -W "$(_credd_words_of "$command")" -- "$cur"))
            return 0 ;;
    esac
    if _credd_takes_value "$command" "$previous"; then
        _credd_reply files "$raw" "$cur"
        return 0
    fi
    local subcommands
    subcommands="$(_credd_subcommands_of "$command")"
    if [ -n "$subcommands" ]; then
        [ "$previous" = "$command" ] && COMPREPLY=($(compgen -W "$subcommands" -- "$cur"))
        return 0
    fi
    # A credential name: only names, never files, and nothing when no daemon answers.
    if _credd_takes_names "$command"; then
        _credd_reply names "$raw" "$cur"
    elif _credd_takes_files "$command"; then
        _credd_reply files "$raw" "$cur"
    fi
}
# The names (or files) starting with what was typed, each answered as the part of it bash
# replaces (its current word, which begins after the last `:` typed), quoted as the user
# began: inside a quote as is, else with printf %%q's backslashes.
_credd_reply() {
    local raw="$2" cur="$3" typed quote="" name reply head candidates
    case $raw in
        \"*|\'*) quote="${raw:0:1}"; typed="${raw:1}" ;;
        *) typed="$(printf '%%s' "$raw" | sed 's/\\\(.\)/\1/g')" ;;
    esac
    head="${raw%%"$cur"}"
    if [ "$1" = names ]; then
        candidates="$(command credd completion --names 2>/dev/null)"
    else
        candidates="$(compgen -f -- "$typed")"
    fi
    local IFS='
'
    for name in $candidates; do
        case $name in
            "$typed"*) ;;
            *) continue ;;
        esac
        if [ -n "$quote" ]; then
            reply="$name"
            [ "$cur" != "$raw" ] && reply="${quote}${name}"
            reply="${reply#"$head"}"
        else
            printf -v reply '%%q' "$name"
            case $reply in
                "$head"*) reply="${reply#"$head"}" ;;
                *) continue ;;
            esac
        fi
        COMPREPLY[${#COMPREPLY[@]}]="$reply"
    done
    return 0
}
complete -F _credd_complete credd
"""


def _bash(table: list[Command]) -> str:
    options = [f"        {c.name}) echo {_words(c.options)!s} ;;" for c in table if c.options]
    values = [
        f"        {_single_quoted(c.name + ' ' + option)}) return 0 ;;"
        for c in table
        for option in c.options_with_value
    ]
    subcommands = [
        f"        {c.name}) echo {_words(c.subcommands)} ;;" for c in table if c.subcommands
    ]
    name_commands = [c.name for c in table if c.takes_names]
    return BASH % {
        "options": "\n".join(options) or "        *) ;;",
        "values": "\n".join(values) or "        *) ;;",
        "subcommands": "\n".join(subcommands) or "        *) ;;",
        "name_commands": "|".join(name_commands) or "''",
        "file_commands": "|".join(c.name for c in table if c.takes_files) or "''",
        "commands": _words([c.name for c in table]),
    }


ZSH = r"""#compdef credd
# credd completion for zsh: eval "$(credd completion zsh)" after compinit
_credd() {
    local -a commands options subcommands names
    local command=${words[2]} current=${words[CURRENT]} previous=${words[CURRENT-1]}
    if (( CURRENT == 2 )); then
        commands=(
%(described)s
        )
        _describe -t commands 'credd command' commands
        return
    fi
    case $command in
%(options)s
    esac
    if [[ $current == -* ]]; then
        compadd -- $options
        return
    fi
    case "$command $previous" in
%(values)s
    esac
    case $command in
%(subcommands)s
    esac
    if (( ${#subcommands} )); then
        (( CURRENT == 3 )) && compadd -- $subcommands
        return
    fi
    case $command in
        %(name_commands)s)
            names=("${(@f)$(command credd completion --names 2>/dev/null)}")
            names=(${names:#})
            compadd -- $names ;;
        %(file_commands)s) _files ;;
    esac
}
compdef _credd credd
"""


def _zsh(table: list[Command]) -> str:
    described = [f"            {_single_quoted(f'{c.name}:{c.summary}')}" for c in table]
    options = [f"        {c.name}) options=({_words(c.options)}) ;;" for c in table if c.options]
    values = [
        f"        {_single_quoted(c.name + ' ' + option)}) _files; return ;;"
        for c in table
        for option in c.options_with_value
    ]
    subcommands = [
        f"        {c.name}) subcommands=({_words(c.subcommands)}) ;;"
        for c in table
        if c.subcommands
    ]
    return ZSH % {
        "described": "\n".join(described),
        "options": "\n".join(options) or "        *) ;;",
        "values": "\n".join(values) or "        *) ;;",
        "subcommands": "\n".join(subcommands) or "        *) ;;",
        "name_commands": "|".join(c.name for c in table if c.takes_names) or "''",
        "file_commands": "|".join(c.name for c in table if c.takes_files) or "''",
    }


FISH_HEADER = """# credd completion for fish: credd completion fish | source
complete -c credd -e
complete -c credd -f
complete -c credd -n __fish_use_subcommand -l help -d 'show help'
complete -c credd -n __fish_use_subcommand -l version -d 'show the version'
"""


def _fish(table: list[Command]) -> str:
    lines = [FISH_HEADER.rstrip("\n")]
    for c in table:
        lines.append(
            f"complete -c credd -n __fish_use_subcommand -a {c.name} -d {_single_quoted(c.summary)}"
        )
        seen = f"'__fish_seen_subcommand_from {c.name}'"
        for option in c.options:
            flag = f"-l {option[2:]}" if option.startswith("--") else f"-s {option[1:]}"
            needs = " -r -F" if option in c.options_with_value else ""
            lines.append(f"complete -c credd -n {seen} {flag}{needs}")
        if c.subcommands:
            lines.append(
                f'complete -c credd -n "__fish_seen_subcommand_from {c.name}; and not '
                f'__fish_seen_subcommand_from {_words(c.subcommands)}" '
                f"-a {_single_quoted(_words(c.subcommands))}"
            )
    # Files where a command takes something other than a name or a subcommand.
    file_commands = " ".join(c.name for c in table if c.takes_files)
    if file_commands:
        lines.append(f"complete -c credd -n '__fish_seen_subcommand_from {file_commands}' -F")
    name_commands = " ".join(c.name for c in table if c.takes_names)
    if name_commands:
        lines.append(
            f"complete -c credd -n '__fish_seen_subcommand_from {name_commands}' "
            "-a '(command credd completion --names 2>/dev/null)'"
        )
    return "\n".join(lines) + "\n"
