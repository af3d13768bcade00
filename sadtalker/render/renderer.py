"""The face renderer: a source portrait + per-frame 3DMM coefficients -> talking-head frames.

`Renderer.prepare` does the source-only work once (keypoints, appearance volume, dense-motion
inputs); `Renderer.batches` renders any frame range [start, stop) of a clip, given its
`RenderSettings`, in full batches, so that a frame's pixels do not depend on how the clip was
split into chunks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sadtalker import weights
from sadtalker.errors import ImageError, InputError
from sadtalker.options import Precision
from sadtalker.render.generator import Generator, SourceFeatures
from sadtalker.render.keypoint_detector import KeypointDetector
from sadtalker.render.keypoints import transform_keypoints
from sadtalker.render.mapping import MappingNet
from sadtalker.render.semantics import frame_windows, source_window
from sadtalker.render.settings import RenderSettings
from sadtalker.render.spectral_norm import fold_spectral_norm

log = logging.getLogger(__name__)

KP_PREFIX = "kp_extractor"
GENERATOR_PREFIX = "generator"
MAPPING_KEY = "mapping"  # the mapping net's state dict inside the .pth.tar pickle
SIZE_MULTIPLE = 128  # the S/4 feature grid is halved five times by the hourglasses
# bf16 runs the per-frame networks with weights cast once to bf16 and bf16 activations, rather
# than under autocast, which casts the fp32 weights at every call and keeps norms and
# element-wise ops in fp32, paying those casts on every frame (speeds: README, "Performance").
FRAME_DTYPES = {Precision.FP32: torch.float32, Precision.BF16: torch.bfloat16,
                Precision.WINOGRAD: torch.float32}


def empty_module(factory: Callable[[], nn.Module]) -> nn.Module:
    """Build a module without spending time (or global RNG) on a random init it will lose."""
    with torch.device("meta"):
        module = factory()
    return module.to_empty(device="cpu").eval().requires_grad_(False)


@dataclass
class SourceState:
    """The source-only work for one portrait, shared by every frame of a chunk."""

    coeffs: np.ndarray  # (coeff_channels,) source 3DMM coefficients
    canonical: torch.Tensor  # (1, K, 3) canonical keypoints
    kp_source: torch.Tensor  # (1, K, 3) keypoints posed by the source's coefficients
    features: SourceFeatures


class Renderer:
    """Keypoint detector + MappingNet + generator, in eval mode, for one render size."""

    def __init__(self, kp_detector: KeypointDetector, generator: Generator, mapping: MappingNet,
                 size: int, precision: Precision = Precision.FP32) -> None:
        if size % SIZE_MULTIPLE:
            raise InputError(f"render size must be a multiple of {SIZE_MULTIPLE}, got {size}")
        self.kp_detector = kp_detector.eval()
        self.generator = generator.eval()
        self.mapping = mapping.eval()
        self.size = size
        self.precision = Precision(precision).resolve()
        self.generator.set_frame_dtype(FRAME_DTYPES[self.precision],
                                       winograd=self.precision is Precision.WINOGRAD)

    @property
    def coeff_channels(self) -> int:
        """MappingNet's input width: FRAME_COEFFS, or SOURCE_COEFFS in full modes."""
        return self.mapping.coeff_channels

    @classmethod
    def load(cls, checkpoint_dir: Path, size: int, coeff_channels: int,
             precision: Precision = Precision.FP32) -> Renderer:
        """Load SadTalker_V0.0.2_<size> (detector, generator) and the mapping file of that width."""
        renderer_path = weights.locate(weights.sadtalker_file(size), checkpoint_dir)
        mapping_path = weights.locate(weights.mapping_file(coeff_channels), checkpoint_dir)
        _, mapping_state = weights.load_torch_state(mapping_path, (MAPPING_KEY,))
        renderer = cls.from_state_dicts(
            weights.load_safetensors_prefix(renderer_path, KP_PREFIX),
            weights.load_safetensors_prefix(renderer_path, GENERATOR_PREFIX),
            mapping_state, size, coeff_channels, precision,
            sources=(renderer_path, mapping_path))
        log.info("renderer loaded from %s and %s (%s)", renderer_path.name, mapping_path.name,
                 renderer.precision.value)
        return renderer

    @classmethod
    def from_state_dicts(cls, kp_state: dict[str, torch.Tensor],
                         generator_state: dict[str, torch.Tensor],
                         mapping_state: dict[str, torch.Tensor], size: int, coeff_channels: int,
                         precision: Precision = Precision.FP32,
                         sources: tuple[str | Path, str | Path] = ("renderer weights",
                                                                   "mapping weights"),
                         ) -> Renderer:
        """Build from official-layout state dicts (prefixes stripped, spectral norm unfolded);
        `sources` name the renderer's and the mapping's files in errors."""
        renderer_file, mapping_file = sources
        kp_detector = weights.load_strict(empty_module(KeypointDetector), kp_state,
                                          renderer_file, KP_PREFIX)
        generator = weights.load_strict(
            empty_module(Generator),
            fold_spectral_norm(generator_state, renderer_file, GENERATOR_PREFIX),
            renderer_file, GENERATOR_PREFIX)
        mapping = weights.load_strict(empty_module(lambda: MappingNet(coeff_channels)),
                                      mapping_state, mapping_file, MAPPING_KEY)
        return cls(kp_detector, generator, mapping, size, precision)

    @torch.inference_mode()
    def prepare(self, source_image: np.ndarray, source_coeffs: np.ndarray) -> SourceState:
        """Source crop (S, S, 3) uint8 RGB + its 3DMM coefficients (>= coeff_channels,)."""
        image = np.asarray(source_image)
        if image.shape != (self.size, self.size, 3) or image.dtype != np.uint8:
            raise ImageError(f"the renderer's source must be a {self.size}x{self.size} RGB uint8 "
                             f"crop, got {image.shape} {image.dtype}")
        coeffs = np.asarray(source_coeffs, dtype=np.float32).reshape(-1)
        if len(coeffs) < self.coeff_channels:
            raise InputError(f"source coefficients need {self.coeff_channels} values, "
                             f"got {len(coeffs)}")
        coeffs = coeffs[: self.coeff_channels]
        # uint8 -> [0, 1] as skimage.img_as_float32 does: multiply by float32(1/255).
        pixels = torch.from_numpy(image).permute(2, 0, 1)[None].float() * np.float32(1 / 255)
        canonical = self.kp_detector(pixels)
        window = torch.from_numpy(source_window(coeffs, self.coeff_channels))[None]
        kp_source = transform_keypoints(canonical, self.mapping(window))
        features = self.generator.encode(pixels, kp_source)
        return SourceState(coeffs, canonical, kp_source, features)

    def batches(self, state: SourceState, settings: RenderSettings, start: int, stop: int,
                ) -> Iterator[torch.Tensor]:
        """The generator's (n, 3, S, S) output in [0, 1] for frames [start, stop) of the clip,
        one batch at a time.

        Batches are always full (`settings.batch_size`, the last one padded with its last
        frame), so chunks whose starts are multiples of the batch size reproduce a whole-clip
        render exactly.
        """
        if not 0 <= start < stop <= settings.num_frames:
            raise InputError(f"frame range [{start}, {stop}) is not inside the clip's "
                             f"{settings.num_frames} frames")
        batch = settings.batch_size
        for first in range(start, stop, batch):
            count = min(batch, stop - first)
            frames = np.minimum(np.arange(first, first + batch), first + count - 1)
            with torch.inference_mode():
                windows = torch.from_numpy(frame_windows(settings.target, frames))
                kp_driving = transform_keypoints(state.canonical, self.mapping(windows),
                                                 *settings.angles(frames))
                images = self.generator(state.features, state.kp_source, kp_driving)
            yield images[:count]

    def render(self, state: SourceState, settings: RenderSettings, start: int, stop: int,
               ) -> np.ndarray:
        """(n, S, S, 3) uint8 frames [start, stop) of the clip."""
        return np.concatenate([to_uint8(images) for images in
                               self.batches(state, settings, start, stop)])

    def render_float(self, state: SourceState, settings: RenderSettings, start: int,
                     stop: int) -> torch.Tensor:
        """Like `render`, but the generator's raw (n, 3, S, S) float32 output in [0, 1]."""
        return torch.cat([images.float() for images in
                          self.batches(state, settings, start, stop)])


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, 3, S, S) in [0, 1] -> (N, S, S, 3) uint8 by rint(x * 255), clipped."""
    scaled = (images.float() * 255).round().clamp(0, 255)
    return scaled.to(torch.uint8).permute(0, 2, 3, 1).numpy()
