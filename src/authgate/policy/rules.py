"""Route policy rules (DESIGN.md "Authorize"): host + method + path pattern → requirements.

A policy file (TOML or YAML) is a list of ``rules``; the first rule whose host, method and path
match decides, and a request no rule matches is denied. Path patterns are literal segments and
``{name}`` captures (one segment) or ``{name:path}`` captures (the rest, slashes included); the
captures feed checks such as ``workspace_param``. Parsing is strict: an unknown key, a wrong
type or a bad pattern rejects the whole file with its line and the reason, so a typo such as
``scope =`` for ``scopes =`` can never silently open a route.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

from authgate.errors import ConfigError
from authgate.principal import PrincipalKind

__all__ = ["Policy", "PolicyError", "Rule", "canonical_path", "load_policy", "parse_policy"]

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})
_CAPTURE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::(path))?\}")
_KINDS = frozenset(k.value for k in PrincipalKind)
_LIST_KEYS = ("methods", "scopes", "any_scopes", "roles", "any_roles", "kinds", "issuers")
_BOOL_KEYS = ("public", "authenticated", "deny", "require_dpop")
_STR_KEYS = ("name", "host", "path", "workspace_param")
_KEYS = frozenset({*_LIST_KEYS, *_BOOL_KEYS, *_STR_KEYS, "min_privilege"})


class PolicyError(ConfigError):
    """A policy file is invalid; ``line`` (1-based, 0 when unknown) and ``reason`` say why."""

    def __init__(self, source: str, line: int, reason: str) -> None:
        super().__init__(f"{source}:{line}" if line else source, reason)
        self.source = source
        self.line = line
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Rule:
    """One route rule. ``methods``/``host`` of None match anything; lists of scopes are all-of."""

    name: str
    path: str
    line: int = 0
    methods: frozenset[str] | None = None
    host: str | None = None
    public: bool = False
    deny: bool = False
    scopes: tuple[str, ...] = ()
    any_scopes: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    any_roles: tuple[str, ...] = ()
    workspace_param: str | None = None
    min_privilege: int | None = None
    kinds: frozenset[str] | None = None
    issuers: frozenset[str] | None = None
    require_dpop: bool = False

    def describe(self) -> str:
        where = f" (line {self.line})" if self.line else ""
        return f"rule {self.name!r}{where}"


def _compile_path(pattern: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    if not pattern.startswith("/"):
        raise ValueError(f"path {pattern!r} must start with '/'")
    parts: list[str] = []
    names: list[str] = []
    last = 0
    for match in _CAPTURE.finditer(pattern):
        parts.append(re.escape(pattern[last : match.start()]))
        name = match.group(1)
        if name in names:
            raise ValueError(f"path {pattern!r} captures {{{name}}} twice")
        names.append(name)
        parts.append(f"(?P<{name}>.+)" if match.group(2) else f"(?P<{name}>[^/]+)")
        last = match.end()
    tail = pattern[last:]
    if "{" in tail or "}" in tail or any("{" in p or "}" in p for p in parts):
        raise ValueError(f"path {pattern!r} has a malformed {{capture}}")
    parts.append(re.escape(tail))
    return re.compile("".join(parts)), tuple(names)


def _host_matches(rule_host: str, host: str) -> bool:
    if ":" not in rule_host:
        host = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if rule_host.startswith("*."):
        return host.endswith(rule_host[1:]) and len(host) > len(rule_host) - 1
    return host == rule_host


@dataclass(frozen=True, slots=True)
class _Compiled:
    rule: Rule
    regex: re.Pattern[str]
    literal: str | None  # the whole path when it has no captures: a string compare is cheaper


class Policy:
    """An immutable, ordered rule list; :meth:`match` is first-match-wins."""

    def __init__(self, rules: Sequence[Rule], *, source: str = "<inline>") -> None:
        self.rules = tuple(rules)
        self.source = source
        compiled = []
        for rule in self.rules:
            regex, names = _compile_path(rule.path)
            compiled.append(_Compiled(rule, regex, None if names else rule.path))
        self._compiled = tuple(compiled)

    def match(self, method: str, host: str, path: str) -> tuple[Rule, dict[str, str]] | None:
        """The first rule for this request and its path captures, or None (default deny)."""
        host = host.lower()
        for entry in self._compiled:
            rule = entry.rule
            if rule.methods is not None and method not in rule.methods:
                continue
            if rule.host is not None and not _host_matches(rule.host, host):
                continue
            if entry.literal is not None:
                if path == entry.literal:
                    return rule, {}
                continue
            found = entry.regex.fullmatch(path)
            if found is not None:
                return rule, found.groupdict()
        return None


# -- parsing ----------------------------------------------------------------------------------
class _Bad(ValueError):
    """A rule error at ``key`` (None: the rule as a whole), so the message gets its line."""

    def __init__(self, key: str | None, message: str) -> None:
        super().__init__(message)
        self.key = key


def _strings(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _Bad(key, f"{key!r} must be a list of non-empty strings")
    return tuple(value)


def _rule(raw: Any, index: int, line: int) -> Rule:
    if not isinstance(raw, Mapping):
        raise _Bad(None, f"rule #{index + 1} must be a table/mapping")
    for key in raw:
        if key not in _KEYS:
            near = difflib.get_close_matches(str(key), _KEYS, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise _Bad(str(key), f"unknown key {key!r}{hint}")
    for key in _BOOL_KEYS:
        if key in raw and not isinstance(raw[key], bool):
            raise _Bad(key, f"{key!r} must be true or false")
    for key in _STR_KEYS:
        if key in raw and (not isinstance(raw[key], str) or not raw[key]):
            raise _Bad(key, f"{key!r} must be a non-empty string")
    if "path" not in raw:
        raise _Bad(None, "a rule needs a 'path'")
    lists = {k: _strings(raw[k], k) for k in _LIST_KEYS if k in raw}
    methods = frozenset(m.upper() for m in lists.get("methods", ())) or None
    if methods is not None and not methods <= _METHODS:
        raise _Bad("methods", f"unknown method(s) {sorted(methods - _METHODS)}")
    kinds = frozenset(lists["kinds"]) if "kinds" in lists else None
    if kinds is not None and not kinds <= _KINDS:
        raise _Bad("kinds", f"unknown kind(s) {sorted(kinds - _KINDS)}; use {sorted(_KINDS)}")
    privilege = raw.get("min_privilege")
    if privilege is not None and (
        isinstance(privilege, bool) or not isinstance(privilege, int) or not 0 <= privilege <= 15
    ):
        raise _Bad("min_privilege", "'min_privilege' must be an integer from 0 to 15")
    public = bool(raw.get("public", False))
    if public and (raw.get("authenticated") or raw.get("deny")):
        raise _Bad("public", "a rule cannot be both 'public' and 'authenticated'/'deny'")
    requirements = ("scopes", "any_scopes", "roles", "any_roles", "kinds", "issuers")
    carried = [k for k in (*requirements, "require_dpop") if raw.get(k)]
    if public and carried:
        raise _Bad(carried[0], "a 'public' rule cannot carry requirements: remove them or 'public'")
    try:
        _, names = _compile_path(raw["path"])
    except ValueError as exc:
        raise _Bad("path", str(exc)) from None
    param = raw.get("workspace_param")
    if param is not None and param not in names:
        raise _Bad(
            "workspace_param", f"'workspace_param' {param!r} is not a capture of {raw['path']!r}"
        )
    host = raw.get("host")
    return Rule(
        name=raw.get("name") or f"rule-{index + 1}",
        path=raw["path"],
        line=line,
        methods=methods,
        host=host.lower() if host else None,
        public=public,
        deny=bool(raw.get("deny", False)),
        scopes=lists.get("scopes", ()),
        any_scopes=lists.get("any_scopes", ()),
        roles=lists.get("roles", ()),
        any_roles=lists.get("any_roles", ()),
        workspace_param=param,
        min_privilege=privilege,
        kinds=kinds,
        issuers=frozenset(lists["issuers"]) if "issuers" in lists else None,
        require_dpop=bool(raw.get("require_dpop", False)),
    )


def _yaml_document(text: str, source: str) -> tuple[Any, list[int], dict[tuple[int, str], int]]:
    """Data plus the line of each rule and of each rule key, from YAML node marks."""
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = str(getattr(exc, "problem", None) or exc)
        raise PolicyError(source, mark.line + 1 if mark else 0, reason) from None
    rule_lines: list[int] = []
    key_lines: dict[tuple[int, str], int] = {}
    if isinstance(root, yaml.MappingNode):
        for key_node, value_node in root.value:
            if key_node.value == "rules" and isinstance(value_node, yaml.SequenceNode):
                for i, item in enumerate(value_node.value):
                    rule_lines.append(item.start_mark.line + 1)
                    if isinstance(item, yaml.MappingNode):
                        for k, _ in item.value:
                            key_lines[(i, str(k.value))] = k.start_mark.line + 1
    return data, rule_lines, key_lines


_TOML_POS = re.compile(r"\(at line (\d+), column \d+\)")
_TOML_RULE = re.compile(r"^\s*\[\[\s*rules\s*\]\]")
_TOML_KEY = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_-]*)\s*=")


def _toml_document(text: str, source: str) -> tuple[Any, list[int], dict[tuple[int, str], int]]:
    """Data plus rule and key lines; tomllib gives positions for syntax errors only, so
    the ``[[rules]]`` headers and ``key =`` lines are located by scanning the text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_POS.search(str(exc))
        reason = _TOML_POS.sub("", str(exc)).strip()
        raise PolicyError(source, int(found.group(1)) if found else 0, reason) from None
    rule_lines: list[int] = []
    key_lines: dict[tuple[int, str], int] = {}
    current = -1
    for number, line in enumerate(text.splitlines(), start=1):
        if _TOML_RULE.match(line):
            current += 1
            rule_lines.append(number)
        elif line.lstrip().startswith("["):
            current = -1 if not _TOML_RULE.match(line) else current
        elif current >= 0 and (key := _TOML_KEY.match(line)):
            key_lines.setdefault((current, key.group(1)), number)
    return data, rule_lines, key_lines


def parse_policy(text: str, *, fmt: str, source: str = "<inline>") -> Policy:
    """Parse TOML (``fmt="toml"``) or YAML (``fmt="yaml"``) policy text; PolicyError if bad."""
    if fmt not in ("toml", "yaml"):
        raise PolicyError(source, 0, f"unknown policy format {fmt!r}; use toml or yaml")
    reader = _toml_document if fmt == "toml" else _yaml_document
    data, rule_lines, key_lines = reader(text, source)
    if not isinstance(data, dict) or "rules" not in data:
        raise PolicyError(source, 1, "a policy file needs a top-level 'rules' list")
    extra = set(data) - {"rules"}
    if extra:
        raise PolicyError(source, 1, f"unknown top-level key(s) {sorted(extra)}; only 'rules'")
    raw_rules = data["rules"]
    if not isinstance(raw_rules, list):
        raise PolicyError(source, 1, "'rules' must be a list of tables")
    rules: list[Rule] = []
    names: set[str] = set()
    for index, raw in enumerate(raw_rules):
        line = rule_lines[index] if index < len(rule_lines) else 0
        try:
            rule = _rule(raw, index, line)
        except ValueError as exc:
            key = getattr(exc, "key", None)
            at = key_lines.get((index, key), line) if key is not None else line
            raise PolicyError(source, at, f"rule #{index + 1}: {exc}") from None
        if rule.name in names:
            raise PolicyError(source, line, f"rule name {rule.name!r} is used twice")
        names.add(rule.name)
        rules.append(rule)
    return Policy(rules, source=source)


def load_policy(path: str | Path) -> Policy:
    """Read and parse a policy file; the format follows the extension (.toml, .yaml/.yml)."""
    file = Path(path)
    fmt = "yaml" if file.suffix.lower() in (".yaml", ".yml") else "toml"
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(str(file), 0, f"cannot read the policy file: {exc}") from None
    return parse_policy(text, fmt=fmt, source=str(file))


_BAD_DECODED = ("\\", "\x00")


def canonical_path(raw: str) -> str | None:
    """The path rules are matched against, or None when it is ambiguous (deny it).

    Percent-escapes are decoded once so ``/api/%70olicies`` matches ``/api/policies``; but a
    path whose meaning depends on who normalises it — dot segments, ``//``, an encoded ``/``,
    a backslash or NUL — is refused rather than guessed at: nginx forwards ``$request_uri``
    raw, and an upstream may resolve ``/public/../admin`` differently from us.
    """
    path = raw.split("?", 1)[0].split("#", 1)[0]
    if not path.startswith("/") or "//" in path:
        return None
    if "%" in path:
        lowered = path.lower()
        if "%2f" in lowered or "%5c" in lowered or "%25" in lowered:
            return None
        try:
            path = unquote(path, errors="strict")
        except UnicodeDecodeError:
            return None
    if any(bad in path for bad in _BAD_DECODED) or "//" in path:
        return None
    if "/." in path:
        segments = path.split("/")
        if "." in segments or ".." in segments:
            return None
    return path
