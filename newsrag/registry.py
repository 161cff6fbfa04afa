"""Registries of backends (embedders, stores, generators, judges), one class for all.

A backend is found, in order, among those registered by name (newsrag's own, registered as
"module:attr" strings, and fakes the tests register and unregister), the installed entry
points of the registry's group ("newsrag.generators", ...: how another package adds one, as
llm and pytest plugins do), and a "package.module:factory" name imported on demand. Targets
are imported only when chosen, so a registry never imports its backends' modules (no cycles).

A factory may declare its own options, a pydantic model set with `@with_options(Model)`; they
are read from the backend's own table (`[generation.llama_cpp]` for "llama-cpp") and checked
when the services are built, so a new backend needs no edit of newsrag/settings.py.

    >>> chat_models = Registry("generators", "generation.generator")
    >>> chat_models.register("upper", lambda settings, options: str.upper)
    >>> chat_models.get("upper")(None, None)("hi")
    'HI'
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from importlib import metadata
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel, ValidationError

from newsrag.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=BaseModel)
ENTRY_POINT_PREFIX = "newsrag."


def with_options(model: type[BaseModel]) -> Callable[[F], F]:
    """Declare the options model of a backend factory (read from its own config table)."""

    def mark(factory: F) -> F:
        factory.options_model = model  # type: ignore[attr-defined]
        return factory

    return mark


def table_name(backend: str) -> str:
    """The config table of a backend: "llama-cpp" -> "llama_cpp"."""
    return backend.replace("-", "_")


class Registry(Generic[F]):
    """Named factories of one kind; `setting` is the config key that chooses one."""

    def __init__(self, kind: str, setting: str) -> None:
        self.group = ENTRY_POINT_PREFIX + kind
        self.setting = setting
        self._targets: dict[str, F | str] = {}

    def register(self, name: str, target: F | str) -> None:
        """Add a factory, or a "module:attr" name imported when first chosen."""
        self._targets[name] = target

    def unregister(self, name: str) -> None:
        self._targets.pop(name, None)

    def snapshot(self) -> dict[str, F | str]:
        """What is registered now (tests restore it after registering fakes)."""
        return dict(self._targets)

    def restore(self, snapshot: dict[str, F | str]) -> None:
        self._targets = dict(snapshot)

    def names(self) -> list[str]:
        """Every backend that can be chosen by name (not counting module:factory ones)."""
        installed = {ep.name for ep in metadata.entry_points(group=self.group)}
        return sorted(installed | {n for n in self._targets if ":" not in n})

    def get(self, name: str) -> F:
        """The factory for `name`; ConfigError naming the known ones if there is none."""
        target = self._targets.get(name)
        if target is None:
            target = next((ep.value for ep in metadata.entry_points(group=self.group, name=name)),
                          None)
        if target is None and ":" in name:
            target = name
        if target is None:
            known = ", ".join(self.names())
            raise ConfigError(f"unknown {self.setting} {name!r} (known: {known}, or "
                              "module:factory)")
        factory = self._load(target) if isinstance(target, str) else target
        self._targets[name] = factory
        return factory

    def _load(self, target: str) -> F:
        module_name, _, attribute = target.partition(":")
        try:
            value: Any = importlib.import_module(module_name)
            for part in attribute.split("."):
                value = getattr(value, part)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"{self.setting} = {target!r} cannot be imported: {exc}") from None
        return cast(F, value)

    def options(self, name: str, tables: Mapping[str, Any]) -> BaseModel | None:
        """The backend's own options, validated from its table in `tables` (None if it
        declares none)."""
        model: type[BaseModel] | None = getattr(self.get(name), "options_model", None)
        if model is None:
            return None
        return model.model_validate(tables.get(table_name(name), {}))

    def check_tables(self, section: str, tables: Mapping[str, Any]) -> list[str]:
        """Problems with the backend tables of a settings section, as "unknown key 'a.b.c'" or
        "bad value for 'a.b.c': ..." lines; a table must belong to a known backend."""
        installed = {table_name(name): name for name in self.names()}
        problems = []
        for table, values in tables.items():
            if table not in installed:
                problems.append(f"unknown key '{section}.{table}'")
                continue
            try:
                self.options(installed[table], {table: values})
            except ValidationError as exc:
                problems += [_problem(f"{section}.{table}", err) for err in exc.errors()]
        return problems


def _problem(prefix: str, err: Any) -> str:
    key = ".".join([prefix, *(str(part) for part in err["loc"])])
    if err["type"] == "extra_forbidden":
        return f"unknown key '{key}'"
    return f"bad value for '{key}': {err['msg']}"
