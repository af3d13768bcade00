"""Random-weight ExpNet and PoseVAE tensors in the official layout (`audio2exp.*`,
`audio2pose.*`).

Convolutions and linear layers get He-normal weights from a seeded generator; every BatchNorm
the inference path runs gets statistics measured on mel windows of speech, by default those of
a synthetic voice (`speech.synthetic_voice`), so nothing outside the package is needed. The
output layers are scaled so that coefficients look like a face's: expression = source
expression + a small audio-driven part, head motion of a few hundredths around the source
pose. The training-only encoder and discriminator keep identity BatchNorm statistics.
"""

from __future__ import annotations

import numpy as np
import torch

from sadtalker.audio import AudioFeatures
from sadtalker.coeff_layout import EXPRESSION_SIZE, POSE_SIZE
from sadtalker.coeffs.audio2exp import ExpNet
from sadtalker.coeffs.audio2pose import LATENT, NUM_STYLES, SEQ_LEN, Audio2Pose
from sadtalker.coeffs.audio_encoder import EMBEDDING
from sadtalker.coeffs.loading import EXP_PREFIX, POSE_PREFIX
from sadtalker.testing.batch_norm_calibration import calibrate_batch_norms
from sadtalker.testing.example_inputs import synthetic_voice
from sadtalker.testing.random_init import he_normal_

CALIBRATION_SECONDS = 4.0
EXP_AUDIO_STD = 0.3  # spread of the audio-driven part of each expression coefficient
POSE_MOTION_STD = 0.03  # spread of the head motion (radians / translation units)
BLINK_GAIN = 0.5  # weight of the blink ratio on each expression coefficient, at most


def coeff_weights(seed: int, calibration_windows: np.ndarray | None = None,
                  ) -> dict[str, torch.Tensor]:
    """`audio2exp.*` and `audio2pose.*` tensors exactly as in SadTalker_V0.0.2_<size>.

    `calibration_windows` (N >= 32, 80, 16) are the mel windows BatchNorm statistics are
    measured on; by default those of `synthetic_voice(seed)` (4 s, 100 windows).
    """
    rng = torch.Generator().manual_seed(seed)
    if calibration_windows is None:
        calibration_windows = AudioFeatures.from_wav(
            synthetic_voice(seed, CALIBRATION_SECONDS)).windows
    if len(calibration_windows) < SEQ_LEN:
        raise ValueError(f"calibration needs at least {SEQ_LEN} mel windows (one PoseVAE chunk), "
                         f"got {len(calibration_windows)}")
    windows = torch.from_numpy(np.asarray(calibration_windows, dtype=np.float32))
    exp_net, pose_net = ExpNet(), Audio2Pose()
    for module in (exp_net, pose_net):
        he_normal_(module, rng)
    with torch.no_grad():
        for classbias in (pose_net.netG.encoder.classbias, pose_net.netG.decoder.classbias):
            classbias.normal_(generator=rng)
        _calibrate_exp(exp_net, windows, rng)
        _calibrate_pose(pose_net, windows, rng)
    return {**{f"{EXP_PREFIX}.{k}": v.clone() for k, v in exp_net.state_dict().items()},
            **{f"{POSE_PREFIX}.{k}": v.clone() for k, v in pose_net.state_dict().items()}}


def _calibrate_exp(net: ExpNet, windows: torch.Tensor, rng: torch.Generator) -> None:
    with calibrate_batch_norms(net.audio_encoder):
        net.audio_encoder(windows)
    features = net.audio_encoder(windows)
    weight = net.mapping1.weight
    audio_weight = weight[:, :EMBEDDING]  # a view: scaling it scales mapping1's audio columns
    audio_weight *= EXP_AUDIO_STD / (features @ audio_weight.T).std(0, keepdim=True).T
    net.mapping1.bias.copy_(-(features.mean(0) @ audio_weight.T))  # zero-mean audio part
    # the reference expression passes straight through, so the output stays near the face's own
    weight[:, EMBEDDING:EMBEDDING + EXPRESSION_SIZE] = torch.eye(EXPRESSION_SIZE)
    weight[:, -1] = BLINK_GAIN * (2 * torch.rand(EXPRESSION_SIZE, generator=rng) - 1)


def _calibrate_pose(net: Audio2Pose, windows: torch.Tensor, rng: torch.Generator) -> None:
    encoder = net.audio_encoder["audio_encoder"]
    with calibrate_batch_norms(encoder):
        encoder(windows)
    chunks = len(windows) // SEQ_LEN
    audio = encoder(windows[: chunks * SEQ_LEN]).view(chunks, SEQ_LEN, -1)
    z = torch.randn(chunks, LATENT, generator=rng)
    styles = torch.randint(NUM_STYLES, (chunks,), generator=rng)
    source = 0.1 * torch.randn(chunks, POSE_SIZE, generator=rng)
    decoder = net.netG.decoder

    def decode() -> torch.Tensor:
        # one style per chunk: the decoder takes a single class id, so decode chunk by chunk
        return torch.cat([decoder(z[i:i + 1], int(styles[i]), source[i:i + 1], audio[i:i + 1])
                          for i in range(chunks)])

    with calibrate_batch_norms(decoder.resunet):
        decode()
    raw = decode()
    scale = POSE_MOTION_STD / raw.reshape(-1, POSE_SIZE).std(0)
    decoder.pose_linear.weight.mul_(scale[:, None])
    decoder.pose_linear.bias.mul_(scale)
    centred = decode().reshape(-1, POSE_SIZE)
    decoder.pose_linear.bias.sub_(centred.mean(0))  # zero mean motion: no jump after frame 0
