"""Random-weight renderer checkpoints in the official layout, for tests and benchmarks.

Weights are drawn from a seeded generator (PyTorch's default fan-in uniform init), spectral-norm
layers get power-iterated u, v like trained ones, and every BatchNorm's running statistics are
set from the activations of a real face (the astronaut's) so that activations stay in a sane
range and the rendered frame has structure instead of saturating.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import skimage.data
import torch
from torch import nn

from sadtalker.coeff_layout import ALIGNMENT
from sadtalker.render.generator import Generator, SourceFeatures
from sadtalker.render.keypoint_detector import KeypointDetector, antialias_kernel
from sadtalker.render.mapping import MappingNet
from sadtalker.render.renderer import GENERATOR_PREFIX, KP_PREFIX, empty_module
from sadtalker.render.spade_decoder import SPADEResBlock
from sadtalker.render.spectral_norm import ORIG, U, V, spectral_sigma

POWER_ITERATIONS = 5  # enough for u, v to approach the top singular vectors
FACE_BOX = (5, 225, 115, 335)  # rows, cols of a square around the astronaut's face
KEYPOINT_LOGIT_STD = 0.2  # keeps the keypoint softmax (temperature 0.1) peaked but not one-hot
ALIGNMENT_INPUT_SCALE = 1 / 256  # alignment offsets are in pixels; keep their weights small
IMAGE_LOGIT_STD = 1.5  # pre-sigmoid spread of the output image
DRIVING_SHIFT = 0.05  # keypoint motion (grid units) of the calibration frame
MAX_CALIBRATION_SIZE = 256  # statistics barely change with size; 512 would cost 4x the time


def synthetic_weights(seed: int, size: int,
                      calibration_size: int | None = None) -> dict[str, torch.Tensor]:
    """`kp_extractor.*` and `generator.*` tensors exactly as in SadTalker_V0.0.2_<size>.

    BatchNorm statistics are calibrated on the astronaut at `calibration_size` (default
    `size`, at most 256); a smaller one is cheaper and gives nearly the same statistics. The
    tensor shapes do not depend on the size.
    """
    rng = torch.Generator().manual_seed(seed)
    detector = empty_module(KeypointDetector)
    generator = empty_module(Generator)
    _randomize(detector, rng)
    _randomize(generator, rng)
    detector.down.weight.copy_(antialias_kernel(1 / detector.down.step))
    spectral = _spectral_normalize(generator, rng)
    _calibrate(detector, generator,
               face_image(calibration_size or min(size, MAX_CALIBRATION_SIZE)))

    tensors = {f"{KP_PREFIX}.{k}": v.clone() for k, v in detector.state_dict().items()}
    for key, value in generator.state_dict().items():
        name = key.removesuffix(".weight")
        if name in spectral:
            for suffix, tensor in zip((ORIG, U, V), spectral[name]):
                tensors[f"{GENERATOR_PREFIX}.{name}.{suffix}"] = tensor
        else:
            tensors[f"{GENERATOR_PREFIX}.{key}"] = value.clone()
    return tensors


def synthetic_mapping(seed: int, coeff_channels: int) -> dict[str, torch.Tensor]:
    """The MappingNet state dict stored under checkpoint['mapping'] (FRAME_COEFFS or
    SOURCE_COEFFS inputs)."""
    rng = torch.Generator().manual_seed(seed)
    mapping = empty_module(lambda: MappingNet(coeff_channels))
    _randomize(mapping, rng)
    mapping.first[0].weight[:, ALIGNMENT] *= ALIGNMENT_INPUT_SCALE
    return {k: v.clone() for k, v in mapping.state_dict().items()}


def face_image(size: int) -> np.ndarray:
    """A real face: the astronaut's head, (size, size, 3) uint8 RGB."""
    top, bottom, left, right = FACE_BOX
    crop = skimage.data.astronaut()[top:bottom, left:right]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)


def _randomize(module: nn.Module, rng: torch.Generator) -> None:
    """PyTorch's default init (uniform, bound 1/sqrt(fan_in)) drawn from `rng`; BN at identity."""
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)):
                bound = 1 / math.sqrt(layer.weight[0].numel())
                layer.weight.uniform_(-bound, bound, generator=rng)
                if layer.bias is not None:
                    layer.bias.uniform_(-bound, bound, generator=rng)
            elif isinstance(layer, nn.modules.batchnorm._BatchNorm):
                layer.reset_parameters()


def _spectral_normalize(generator: Generator, rng: torch.Generator,
                        ) -> dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Divide each SPADE block conv by its spectral norm; return (W_orig, u, v) by layer name."""
    stored = {}
    with torch.no_grad():
        for name, block in generator.named_modules():
            if not isinstance(block, SPADEResBlock):
                continue
            for conv_name in ("conv_0", "conv_1", "conv_s"):
                conv = getattr(block, conv_name, None)
                if conv is None:
                    continue
                weight = conv.weight.clone()
                matrix = weight.reshape(len(weight), -1)
                v = nn.functional.normalize(torch.randn(matrix.shape[1], generator=rng), dim=0)
                for _ in range(POWER_ITERATIONS):
                    u = nn.functional.normalize(matrix @ v, dim=0)
                    v = nn.functional.normalize(matrix.T @ u, dim=0)
                conv.weight.copy_(weight / spectral_sigma(weight, u, v))
                stored[f"{name}.{conv_name}"] = (weight, u, v)
    return stored


def _calibrate(detector: KeypointDetector, generator: Generator, face: np.ndarray) -> None:
    """Set BatchNorm running statistics (and two output gains) from activations on `face`."""
    image = torch.from_numpy(face).permute(2, 0, 1)[None].float() / 255
    hooks = [layer.register_forward_pre_hook(_set_batch_statistics)
             for model in (detector, generator) for layer in model.modules()
             if isinstance(layer, nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        logits = detector.kp(detector.predictor(detector.down(image)))
        detector.kp.weight *= KEYPOINT_LOGIT_STD / logits.std()
        detector.kp.bias.zero_()
        keypoints = detector(image)
        source = generator.encode(image, keypoints)
        # Drive with slightly moved source keypoints, as a talking head moves them.
        driving = keypoints + DRIVING_SHIFT * torch.tanh(keypoints.flip(1))
        _set_image_gain(generator, source, keypoints, driving)
    for hook in hooks:
        hook.remove()


def _set_image_gain(generator: Generator, source: SourceFeatures, kp_source: torch.Tensor,
                    kp_driving: torch.Tensor) -> None:
    """Scale the last conv so the image's pre-sigmoid values spread by IMAGE_LOGIT_STD."""
    seen = {}
    generator.set_frame_dtype(torch.float32, channels_last=False)  # folds the decoder's constants
    hook = generator.decoder.conv_img.register_forward_hook(
        lambda module, inputs, output: seen.setdefault("logits", output))
    generator(source, kp_source, kp_driving)
    hook.remove()
    logits = seen["logits"]
    conv = generator.decoder.conv_img
    gain = IMAGE_LOGIT_STD / logits.std()
    conv.bias -= logits.mean(dim=(0, 2, 3))
    conv.weight *= gain
    conv.bias *= gain


def _set_batch_statistics(layer: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
    x = inputs[0]
    dims = [0] + list(range(2, x.dim()))
    layer.running_mean.copy_(x.mean(dim=dims))
    layer.running_var.copy_(x.var(dim=dims, unbiased=False))
