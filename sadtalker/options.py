"""Typed generation options: one definition of every knob and its default.

The CLI, the Python API and the Flyte workflow's launch form all read their defaults from
``GenerateOptions``; values are validated once, here, when the object is built.
"""

from __future__ import annotations

import json
import types
import typing
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from typing import Any, Union

from sadtalker.coeff_layout import FRAME_COEFFS, SOURCE_COEFFS
from sadtalker.cpu import CpuClass, cpu_class
from sadtalker.errors import OptionError


class Size(str, Enum):
    """Renderer resolution in pixels: a choice, as SadTalker ships weights for these only."""

    PX256 = "256"
    PX512 = "512"

    @property
    def pixels(self) -> int:
        return int(self.value)


SIZES = tuple(size.pixels for size in Size)
NUM_POSE_STYLES = 46  # audio2pose CVAE class embeddings (auido2pose.yaml NUM_CLASSES)
MAX_BATCH_SIZE = 64
MAX_AUDIO_SECONDS = 600.0  # default guard: longer speech is refused before any heavy stage


class Preprocess(str, Enum):
    """How the portrait is cropped before rendering (SadTalker's five modes)."""

    CROP = "crop"  # tight landmark quad, output is the crop
    RESIZE = "resize"  # whole image squashed to size x size
    FULL = "full"  # tight quad, rendered face pasted back into the photo
    EXTCROP = "extcrop"  # crop with the border box around the quad
    EXTFULL = "extfull"  # border box, pasted back into the photo

    @property
    def pastes_back(self) -> bool:
        """Full modes paste the rendered crop back into the original photo."""
        return self in (Preprocess.FULL, Preprocess.EXTFULL)

    @property
    def extended(self) -> bool:
        """Ext modes keep the larger border box instead of the tight quad."""
        return self in (Preprocess.EXTCROP, Preprocess.EXTFULL)


class Enhancer(str, Enum):
    """Face restoration applied to rendered frames."""

    NONE = "none"
    GFPGAN = "gfpgan"


class Precision(str, Enum):
    """Numeric precision of the per-frame networks: the face renderer's and GFPGAN's."""

    AUTO = "auto"  # the fastest path this CPU computes natively: bf16, else winograd
    FP32 = "fp32"  # the public code's numbers (max abs diff ~1e-4), on any CPU
    BF16 = "bf16"  # faster, close to fp32 (README, "Performance"); native bf16 CPUs only
    WINOGRAD = "winograd"  # fp32, fewer multiplies: Winograd 3x3 (renderer, GFPGAN), FFT 7x7x7

    def runs_on(self, cpu: CpuClass) -> bool:
        """Whether `cpu` computes this precision natively (AUTO runs anywhere)."""
        return self is not Precision.BF16 or cpu.native_bf16

    def resolve(self, cpu: CpuClass | None = None) -> Precision:
        """AUTO as the fastest precision `cpu` (default: this machine's) runs natively.

        BF16 on a CPU without native bf16 is refused: oneDNN has no bf16 kernels there, so some
        layers would fail and others crawl in scalar loops.
        """
        cpu = cpu or cpu_class()
        if self is Precision.AUTO:
            return Precision.BF16 if cpu.native_bf16 else Precision.WINOGRAD
        if not self.runs_on(cpu):
            raise OptionError(
                f"precision bf16 needs a CPU with native bfloat16 (AVX-512 BF16 or AMX); this "
                f"one is {cpu.value} class: use precision auto, winograd or fp32")
        return self


def _enum_value(enum_type: type[Enum], value: Any, name: str) -> Enum:
    if isinstance(value, enum_type):
        return value
    try:
        return enum_type(str(value).lower())
    except ValueError:
        choices = ", ".join(m.value for m in enum_type)
        raise OptionError(f"unknown {name} {value!r}: choose one of {choices}") from None


def _angles(value: Any, name: str) -> tuple[float, ...] | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        value = [value]
    angles = tuple(float(v) for v in value)
    if not angles:
        return None
    if any(abs(a) > 90 for a in angles):
        raise OptionError(f"{name} angles must lie within [-90, 90] degrees, got {list(angles)}")
    return angles


def option(default: Any, help: str, choices: type[Enum] | None = None) -> Any:
    """A field of `GenerateOptions`: its default, its one-line help (the CLI's `--help` and the
    launch form's description) and, for a plain value with a fixed set, the choice type."""
    return field(default=default, metadata={"help": help, "choices": choices})


@dataclass(frozen=True)
class GenerateOptions:
    """Every option of a generation run, with SadTalker's defaults.

    This is the only list of options: the CLI's flags, the Python API, the workflow's launch
    form and what `ingest` validates all follow from these fields, their types and helps.
    """

    preprocess: Preprocess = option(
        Preprocess.CROP, "how the portrait is cropped: crop | resize | full | extcrop | extfull "
        "(full modes paste the face back into the photo)")
    size: int = option(256, "renderer resolution in pixels, 256 or 512", choices=Size)
    still: bool = option(False, "keep the head still: the source's pose, less head motion")
    enhancer: Enhancer = option(Enhancer.NONE, "face restoration of the rendered frames: none "
                                               "| gfpgan")
    pose_style: int = option(0, f"head-motion style, 0..{NUM_POSE_STYLES - 1}")
    expression_scale: float = option(1.0, "expression strength, 0..5 (1 = as predicted)")
    input_yaw: tuple[float, ...] | None = option(
        None, "head yaw in degrees: one value, or several to sweep through (none = predicted)")
    input_pitch: tuple[float, ...] | None = option(
        None, "head pitch in degrees: one value, or several to sweep through")
    input_roll: tuple[float, ...] | None = option(
        None, "head roll in degrees: one value, or several to sweep through")
    seed: int = option(0, "seed of every random choice (blinks, pose sampling): same seed, "
                          "same video")
    batch_size: int = option(2, f"frames the renderer runs at once, 1..{MAX_BATCH_SIZE}")
    precision: Precision = option(
        Precision.AUTO, "precision of the renderer and GFPGAN: auto (bf16 where the CPU computes "
                        "it natively, else winograd) | fp32 | bf16 | winograd (fp32 with fewer "
                        "multiplies, the renderer's 3x3 convolutions by Winograd's algorithm and "
                        "its 7x7x7 one by FFT: within ~1e-4 of fp32, faster on CPUs without "
                        "native bf16)")
    max_audio_seconds: float = option(MAX_AUDIO_SECONDS, "longer speech is refused before any "
                                                         "heavy stage")

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "preprocess", _enum_value(Preprocess, self.preprocess, "preprocess"))
        set_(self, "enhancer", _enum_value(Enhancer, self.enhancer or "none", "enhancer"))
        set_(self, "precision", _enum_value(Precision, self.precision, "precision"))
        for name in ("input_yaw", "input_pitch", "input_roll"):
            set_(self, name, _angles(getattr(self, name), name))
        if isinstance(self.size, Size):
            set_(self, "size", self.size.pixels)
        if self.size not in SIZES:
            raise OptionError(f"size must be one of {SIZES}, got {self.size}")
        if not 0 <= self.pose_style < NUM_POSE_STYLES:
            raise OptionError(
                f"pose_style must be in [0, {NUM_POSE_STYLES - 1}], got {self.pose_style}"
            )
        if not 0.0 <= self.expression_scale <= 5.0:
            raise OptionError(
                f"expression_scale must be in [0, 5], got {self.expression_scale}"
            )
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise OptionError(f"batch_size must be in [1, {MAX_BATCH_SIZE}], got {self.batch_size}")
        if self.max_audio_seconds <= 0:
            raise OptionError(f"max_audio_seconds must be > 0, got {self.max_audio_seconds}")
        if self.seed < 0:
            raise OptionError(f"seed must be >= 0, got {self.seed}")

    @property
    def coeff_channels(self) -> int:
        """Renderer input width: 70 (exp + pose), 73 in full modes (+ crop parameters)."""
        return SOURCE_COEFFS if self.preprocess.pastes_back else FRAME_COEFFS

    def with_resolved_precision(self) -> GenerateOptions:
        """These options with `precision` decided for this machine (AUTO picked, bf16 refused
        where not native): a run on one machine decides it once, before any work."""
        return replace(self, precision=self.precision.resolve())

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly values (enums as strings), e.g. for metadata and cache keys."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.value if isinstance(value, Enum) else value
        return out

    def to_json(self) -> str:
        """The options as the JSON text the workflow's tasks pass on (keys sorted)."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> GenerateOptions:
        """Options from `to_json`'s text, validated again."""
        return cls(**json.loads(text))


DEFAULTS = GenerateOptions()


@dataclass(frozen=True)
class OptionSpec:
    """One field of `GenerateOptions` as the CLI and the workflow read it."""

    name: str
    type: Any  # the field's annotation, resolved
    default: Any
    help: str
    choices: type[Enum] | None  # the enum of allowed values (the field's own, or `size`'s)

    @property
    def is_list(self) -> bool:
        """A tuple of values (the free-view angles), None when not given."""
        return typing.get_origin(self.type) in (Union, types.UnionType) and any(
            typing.get_origin(arg) is tuple for arg in typing.get_args(self.type))

    @property
    def item_type(self) -> type:
        """The element type of a list option; the type itself for the others."""
        for arg in typing.get_args(self.type):
            if typing.get_origin(arg) is tuple:
                return typing.get_args(arg)[0]
        return self.type


def option_specs() -> list[OptionSpec]:
    """Every option in `GenerateOptions`' order, with its resolved type, default and help."""
    hints = typing.get_type_hints(GenerateOptions)
    specs = []
    for f in fields(GenerateOptions):
        kind = hints[f.name]
        choices = f.metadata["choices"] or (kind if isinstance(kind, type) and
                                            issubclass(kind, Enum) else None)
        specs.append(OptionSpec(f.name, kind, f.default, f.metadata["help"], choices))
    return specs
