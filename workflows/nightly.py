"""The scheduled batch: `talking_head_batch` on a cron schedule, configured by a file in the
repository.

A schedule cannot prompt for inputs, so they are set when the plan is registered, from
`workflows/nightly.toml` (format: `workflows/nightly.example.toml`). The file is part of the
code that registration ships and versions, so a changed clip list registers as a new version.
Without the file there is no nightly plan.
"""

from __future__ import annotations

import enum
import types
import typing
from pathlib import Path
from typing import Any

import tomllib
from flytekit import CronSchedule, Email, LaunchPlan, WorkflowExecutionPhase
from flytekit.types.file import FlyteFile

from workflows.batch import talking_head_batch

CONFIG = Path(__file__).with_name("nightly.toml")
NAME = "talking_head_batch_nightly"
ALERT_PHASES = [WorkflowExecutionPhase.FAILED, WorkflowExecutionPhase.TIMED_OUT]


class NightlyConfigError(ValueError):
    """`nightly.toml` names an input the batch does not have, or lacks a required one."""


def python_value(value: Any, python_type: type) -> Any:
    """A TOML value as the batch input's type: URIs as files, strings as enum members."""
    if typing.get_origin(python_type) in (typing.Union, types.UnionType):  # optional, given
        (python_type,) = (t for t in typing.get_args(python_type) if t is not type(None))
    if typing.get_origin(python_type) is list:
        (item,) = typing.get_args(python_type)
        return [python_value(v, item) for v in value]
    if isinstance(python_type, type) and issubclass(python_type, enum.Enum):
        return python_type(str(value))  # TOML's 512 is the size choice "512"
    if isinstance(python_type, type) and issubclass(python_type, FlyteFile):
        return python_type(value)
    return value


def nightly_plan(config: Path) -> LaunchPlan:
    """The scheduled plan that `config` describes (keys: cron, alert_emails, [inputs])."""
    with open(config, "rb") as f:
        settings = tomllib.load(f)
    types = talking_head_batch.python_interface.inputs
    inputs = settings.get("inputs", {})
    unknown = sorted(set(inputs) - set(types))
    missing = sorted({"image", "audios"} - set(inputs))
    if unknown or missing:
        raise NightlyConfigError(
            f"{config}: unknown inputs {unknown}, missing inputs {missing}; the inputs are "
            f"those of talking_head_batch: {', '.join(types)}")
    emails = settings.get("alert_emails", [])
    return LaunchPlan.get_or_create(
        talking_head_batch, name=NAME,
        default_inputs={k: python_value(v, types[k]) for k, v in inputs.items()},
        schedule=CronSchedule(schedule=settings.get("cron", "0 3 * * *")),
        notifications=[Email(phases=ALERT_PHASES, recipients_email=emails)] if emails else [])


if CONFIG.is_file():
    nightly_launch_plan = nightly_plan(CONFIG)
