"""Renders ``{{ env_var(...) }}`` in dbt's yml files the way dbt does, secrets included.

Values rendered from environment variables may be secrets: nothing here logs or
echoes a rendered value; errors name the variable, never its value.
"""

from __future__ import annotations

import os
from typing import Any

import jinja2
import jinja2.sandbox

from fsdbt.errors import ConfigError

_NUMERIC_KEYS = {"port", "threads", "connect_timeout", "keepalives_idle", "retries", "db",
                 "socket_timeout", "login_timeout", "query_timeout"}


class _Undefined(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _env_var(name: str, default: Any = None) -> Any:
    if name in os.environ:
        return os.environ[name]
    if default is not None:
        return default
    raise _Undefined(name)


def _as_bool(value: Any) -> bool:
    return str(value).strip().lower() in {"true", "1", "yes", "on"}


def _as_number(value: Any) -> int | float:
    text = str(value).strip()
    return int(text) if text.lstrip("-").isdigit() else float(text)


_ENV = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined)
_ENV.globals.update(env_var=_env_var)
_ENV.filters.update(as_bool=_as_bool, as_number=_as_number, as_text=str, as_native=lambda v: v)


def render_value(text: str, *, where: str, key: str = "") -> Any:
    if "{{" not in text and "{%" not in text:
        return text
    try:
        out = _ENV.from_string(text).render()
    except _Undefined as exc:
        raise ConfigError(f"{where}: environment variable '{exc.name}' is not set and has no default "
                          f"(used by '{key}'); export it or give env_var a default") from None
    except jinja2.TemplateError as exc:
        raise ConfigError(f"{where}: cannot render '{key}': {exc.message}") from None
    if key in _NUMERIC_KEYS:
        try:
            return _as_number(out)
        except ValueError:
            raise ConfigError(f"{where}: '{key}' must be a number") from None
    if out in ("True", "False", "true", "false"):
        return out.lower() == "true"
    return out


def render_tree(node: Any, *, where: str, key: str = "") -> Any:
    """Render every string in a parsed yml tree (dbt renders values one by one)."""
    if isinstance(node, dict):
        return {k: render_tree(v, where=where, key=str(k)) for k, v in node.items()}
    if isinstance(node, list):
        return [render_tree(v, where=where, key=key) for v in node]
    if isinstance(node, str):
        return render_value(node, where=where, key=key)
    return node
