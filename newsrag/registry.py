"""Plain registries for backends, with "package.module:factory" names as a plugin hook."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

from newsrag.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])


def resolve(registry: dict[str, F], name: str, setting: str) -> F:
    """A registered factory, or one named "module:attribute" (imported on demand).

    >>> resolve({"a": len}, "a", "x.backend") is len
    True
    """
    if name in registry:
        return registry[name]
    if ":" in name:
        module_name, _, attribute = name.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"{setting} = {name!r} cannot be imported: {exc}") from None
        registry[name] = factory
        return factory
    known = ", ".join(sorted(k for k in registry if ":" not in k))
    raise ConfigError(f"unknown {setting} {name!r} (known: {known}, or module:factory)")
