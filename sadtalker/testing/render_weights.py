"""Random-weight renderer tensors in the official layout (`kp_extractor.*`, `generator.*`,
and the mapping nets' state dicts), for tests and benchmarks.

Weights are drawn from a seeded generator (PyTorch's default fan-in uniform init), spectral-norm
layers get power-iterated u, v like trained ones, and every BatchNorm's running statistics are
those of the activations of a real face (the astronaut's head) so that activations stay in a
sane range and the rendered frame has structure instead of saturating.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from sadtalker.coeff_layout import ALIGNMENT
from sadtalker.render.generator import Generator, SourceFeatures
from sadtalker.render.keypoint_detector import KeypointDetector, antialias_kernel
from sadtalker.render.mapping import MappingNet
from sadtalker.render.renderer import GENERATOR_PREFIX, KP_PREFIX, empty_module
from sadtalker.render.spade_decoder import SPADEResBlock
from sadtalker.render.spectral_norm import ORIG, U, V, spectral_sigma
from sadtalker.testing.batch_norm_calibration import calibrate_batch_norms
from sadtalker.testing.example_inputs import astronaut_crop
from sadtalker.testing.random_init import fan_in_uniform_

POWER_ITERATIONS = 5  # enough for u, v to approach the top singular vectors
KEYPOINT_LOGIT_STD = 0.2  # keeps the keypoint softmax (temperature 0.1) peaked but not one-hot
ALIGNMENT_INPUT_SCALE = 1 / 256  # alignment offsets are in pixels; keep their weights small
IMAGE_LOGIT_STD = 1.5  # pre-sigmoid spread of the output image
DRIVING_SHIFT = 0.05  # keypoint motion (grid units) of the calibration frame
MAX_CALIBRATION_SIZE = 256  # statistics barely change with size; 512 would cost 4x the time


def render_weights(seed: int, size: int, calibration_size: int | None = None,
                   ) -> dict[str, torch.Tensor]:
    """`kp_extractor.*` and `generator.*` tensors exactly as in SadTalker_V0.0.2_<size>.

    BatchNorm statistics are calibrated on the astronaut at `calibration_size` (default
    `size`, at most 256); a smaller one is cheaper and gives nearly the same statistics. The
    tensor shapes do not depend on the size.
    """
    rng = torch.Generator().manual_seed(seed)
    detector = empty_module(KeypointDetector)
    generator = empty_module(Generator)
    fan_in_uniform_(detector, rng)
    fan_in_uniform_(generator, rng)
    detector.down.weight.copy_(antialias_kernel(1 / detector.down.step))
    spectral = _spectral_normalize(generator, rng)
    _calibrate(detector, generator,
               astronaut_crop(calibration_size or min(size, MAX_CALIBRATION_SIZE)))

    tensors = {f"{KP_PREFIX}.{k}": v.clone() for k, v in detector.state_dict().items()}
    for key, value in generator.state_dict().items():
        name = key.removesuffix(".weight")
        if name in spectral:
            for suffix, tensor in zip((ORIG, U, V), spectral[name]):
                tensors[f"{GENERATOR_PREFIX}.{name}.{suffix}"] = tensor
        else:
            tensors[f"{GENERATOR_PREFIX}.{key}"] = value.clone()
    return tensors


def mapping_weights(seed: int, coeff_channels: int) -> dict[str, torch.Tensor]:
    """The MappingNet state dict stored under checkpoint['mapping'] (FRAME_COEFFS or
    SOURCE_COEFFS inputs)."""
    rng = torch.Generator().manual_seed(seed)
    mapping = empty_module(lambda: MappingNet(coeff_channels))
    fan_in_uniform_(mapping, rng)
    mapping.first[0].weight[:, ALIGNMENT] *= ALIGNMENT_INPUT_SCALE
    return {k: v.clone() for k, v in mapping.state_dict().items()}


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
    """Set BatchNorm running statistics (and two output gains) from activations on `face`.

    The statistics stored are those each layer normalised with (population variance), so the
    image gain measured here holds for the stored network.
    """
    image = torch.from_numpy(face).permute(2, 0, 1)[None].float() / 255
    with calibrate_batch_norms(detector, generator, unbiased=False):
        logits = detector.kp(detector.predictor(detector.down(image)))
        detector.kp.weight *= KEYPOINT_LOGIT_STD / logits.std()
        detector.kp.bias.zero_()
        keypoints = detector(image)
        source = generator.encode(image, keypoints)
        # Drive with slightly moved source keypoints, as a talking head moves them.
        driving = keypoints + DRIVING_SHIFT * torch.tanh(keypoints.flip(1))
        _set_image_gain(generator, source, keypoints, driving)


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
