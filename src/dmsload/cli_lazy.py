"""Subcommands imported on first use, so `dmsload run` does not load `capacity` or `report`."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

import typer.main
from typer.models import CommandInfo

from dmsload.cli_errors import OneLineErrorsGroup

try:  # typer >= 0.22 carries its own copy of Click; older versions use Click itself
    from typer._click.core import Command, Context
except ImportError:  # pragma: no cover
    from click.core import Command, Context  # type: ignore[assignment]


@dataclass(frozen=True)
class LazyCommand:
    """A subcommand by name: the module and the Typer function that define it."""

    name: str
    module: str
    function: str

    def build(self, rich_markup_mode: Any) -> Command:
        """Import the function and make it a Click command, as `app.command(name=...)` does."""
        callback: Callable[..., Any] = getattr(importlib.import_module(self.module), self.function)
        return typer.main.get_command_from_info(
            CommandInfo(name=self.name, callback=callback),
            pretty_exceptions_short=True,
            rich_markup_mode=rich_markup_mode,
        )


class LazyCommands(MutableMapping[str, Command]):
    """A group's commands in order: the loaded ones, then the lazy ones, each built when
    first looked up (listing names loads nothing)."""

    def __init__(
        self, loaded: Mapping[str, Command], lazy: Sequence[LazyCommand], markup: Any
    ) -> None:
        self._commands: dict[str, Command | LazyCommand] = dict(loaded)
        for command in lazy:
            self._commands.setdefault(command.name, command)
        self._markup = markup

    def __getitem__(self, name: str) -> Command:
        found = self._commands[name]
        if isinstance(found, LazyCommand):
            found = self._commands[name] = found.build(self._markup)
        return found

    def __setitem__(self, name: str, command: Command) -> None:
        self._commands[name] = command

    def __delitem__(self, name: str) -> None:
        del self._commands[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._commands)

    def __len__(self) -> int:
        return len(self._commands)


class LazyCommandsGroup(OneLineErrorsGroup):
    """The `dmsload` group: the commands of `lazy_commands` come after the ones registered on
    the Typer app, and are imported only when run or shown in `--help`."""

    lazy_commands: tuple[LazyCommand, ...] = ()

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands(self.commands, self.lazy_commands, self.rich_markup_mode)

    def list_commands(self, ctx: Context) -> list[str]:
        """Names in order of registration, without importing any command."""
        return list(self.commands)
