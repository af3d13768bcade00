"""The options as Flyte inputs: every entity that takes them lists each one, typed and described."""

from __future__ import annotations

from typing import Any

import pytest
from flytekit import task

from sadtalker.options import DEFAULTS, GenerateOptions, Precision, Size, option_specs
from tasks.clip_inputs import PREDICTED, clip_inputs
from tasks.ingest import ingest
from tasks.option_inputs import option_inputs, takes_options
from workflows.batch import talking_head_batch
from workflows.talking_head import talking_head

NAMES = [spec.name for spec in option_specs()]


@pytest.mark.parametrize(("entity", "excluded"), [
    (talking_head, ()), (ingest, ()), (talking_head_batch, PREDICTED), (clip_inputs, PREDICTED)])
def test_every_option_is_an_input_with_the_options_default(entity, excluded) -> None:
    inputs = entity.python_interface.inputs_with_defaults
    taken = [name for name in inputs if name in NAMES]
    assert taken == [name for name in NAMES if name not in excluded]  # in the options' order
    for name in taken:
        default = inputs[name][1]
        assert GenerateOptions(**{name: default}) == DEFAULTS, name


def test_the_launch_form_describes_each_option_with_its_help() -> None:
    described = talking_head.python_interface.docstring.input_descriptions
    for spec in option_specs():
        assert described[spec.name].lower().startswith(spec.help.lower()), spec.name
    assert "eye blinks" in described["ref_eyeblink"]  # the workflow's own inputs keep theirs


def test_launch_form_types_are_choices_and_lists() -> None:
    types = {o.name: o.type for o in option_inputs()}
    assert types["size"] is Size and types["precision"] is Precision
    assert types["input_yaw"] == (list[float] | None)
    assert types["seed"] is int and types["still"] is bool


def test_clip_inputs_repeat_each_shared_option_per_clip() -> None:
    outputs = clip_inputs.python_interface.outputs
    assert [name for name in outputs if name in NAMES] == [
        name for name in NAMES if name not in PREDICTED]
    assert outputs["size"] == list[Size]


def test_a_decorated_task_receives_every_option_and_builds_them() -> None:
    @task
    @takes_options(after="label")
    def build(label: str, **options: Any) -> str:
        """A toy task.

        :param label: Returned first.
        """
        return f"{label}:{GenerateOptions(**options).to_json()}"

    assert list(build.python_interface.inputs) == ["label", *NAMES]
    out = build(label="x", **{**{o.name: o.default for o in option_inputs()}, "seed": 7})
    assert out == f"x:{GenerateOptions(seed=7).to_json()}"


def test_unknown_names_are_refused() -> None:
    with pytest.raises(ValueError, match="not options: \\['sizes'\\]"):
        option_inputs(exclude=("sizes",))
