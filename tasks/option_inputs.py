"""The generation options as Flyte inputs: one flat, documented input per option.

`sadtalker.options.GenerateOptions` is the only list of options. `takes_options` gives a task or
a workflow one keyword input per option, typed for the launch form (choices as drop-downs, angle
lists as lists) and described by the option's help, so an option added there reaches the CLI,
`ingest` and the launch forms without another edit. The decorated function receives them as
`**options`, which `GenerateOptions(**options)` accepts as they are.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

from sadtalker.options import OptionSpec, option_specs

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class OptionInput:
    """One option as a Flyte input: name, launch-form type, default and description."""

    name: str
    type: Any
    default: Any
    help: str

    @classmethod
    def of(cls, spec: OptionSpec) -> OptionInput:
        if spec.choices is not None:  # an enum, or a plain value from a fixed set (size)
            value = spec.default.value if isinstance(spec.default, Enum) else spec.default
            return cls(spec.name, spec.choices, spec.choices(str(value)), spec.help)
        if spec.is_list:  # tuples of angles: a list input, empty by default
            return cls(spec.name, list[spec.item_type] | None, None, spec.help)
        return cls(spec.name, spec.type, spec.default, spec.help)


def option_inputs(exclude: Collection[str] = ()) -> list[OptionInput]:
    """Every option but `exclude`, in `GenerateOptions`' order."""
    unknown = set(exclude) - {spec.name for spec in option_specs()}
    if unknown:
        raise ValueError(f"not options: {sorted(unknown)}")
    return [OptionInput.of(spec) for spec in option_specs() if spec.name not in exclude]


def takes_options(after: str, exclude: Collection[str] = ()) -> Callable[[F], F]:
    """Replace the function's `**options` by one keyword input per option, placed after its
    parameter `after`, and add each option's help to its docstring (the launch form's text)."""

    def decorate(fn: F) -> F:
        signature = inspect.signature(fn)
        own = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
               for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
        cut = [p.name for p in own].index(after) + 1
        inputs = option_inputs(exclude)
        added = [inspect.Parameter(o.name, inspect.Parameter.KEYWORD_ONLY, default=o.default,
                                   annotation=o.type) for o in inputs]
        fn.__signature__ = signature.replace(parameters=own[:cut] + added + own[cut:])
        fn.__annotations__ = {**fn.__annotations__, **{o.name: o.type for o in inputs}}
        fn.__doc__ = "\n".join([inspect.cleandoc(fn.__doc__ or ""), "",
                                *(f":param {o.name}: {o.help[0].upper()}{o.help[1:]}."
                                  for o in inputs)])
        return fn

    return decorate
