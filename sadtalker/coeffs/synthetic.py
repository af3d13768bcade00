"""Random-weight ExpNet and PoseVAE tensors in the official layout, for tests and demos.

Convolutions and linear layers get He-normal weights from a seeded generator; every
BatchNorm the inference path runs gets running statistics measured on mel windows of speech,
so activations stay in a sane range. The calibration speech is by default a deterministic
synthetic voice (a glottal pulse train through moving vowel formants, with syllable-rate
loudness and short noise bursts), so the function needs nothing outside the package; real
speech windows can be passed instead. The output layers are scaled so that coefficients look
like a face's: expression = source expression + a small audio-driven part, head motion of a
few hundredths around the source pose. The training-only encoder and discriminator keep
identity BatchNorm statistics.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from sadtalker.audio import SAMPLE_RATE, AudioFeatures
from sadtalker.coeff_layout import EXPRESSION_SIZE, POSE_SIZE
from sadtalker.coeffs.audio2exp import ExpNet
from sadtalker.coeffs.audio2pose import LATENT, NUM_STYLES, SEQ_LEN, Audio2Pose
from sadtalker.coeffs.audio_encoder import EMBEDDING
from sadtalker.coeffs.loading import EXP_PREFIX, POSE_PREFIX

CALIBRATION_SECONDS = 4.0
EXP_AUDIO_STD = 0.3  # spread of the audio-driven part of each expression coefficient
POSE_MOTION_STD = 0.03  # spread of the head motion (radians / translation units)
BLINK_GAIN = 0.5  # weight of the blink ratio on each expression coefficient, at most

# synthetic voice
PITCH_HZ = (110.0, 180.0)  # glottal pulse rate range
SYLLABLE_HZ = 4.0
FORMANTS_HZ = ((300, 800), (900, 2200), (2300, 3000))  # (low, high) range of F1, F2, F3
FORMANT_BANDWIDTH_HZ = 120.0


def synthetic_voice(seed: int, seconds: float = CALIBRATION_SECONDS) -> np.ndarray:
    """A deterministic speech-like float32 signal at 16 kHz: voiced syllables and fricatives."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    pitch = np.interp(t, np.linspace(0, seconds, 9), rng.uniform(*PITCH_HZ, 9))
    phase = np.cumsum(pitch) / SAMPLE_RATE
    source = 2 * (phase % 1) - 1  # sawtooth: a rich harmonic spectrum like a glottal source
    syllables = int(seconds * SYLLABLE_HZ)
    voice = np.zeros(n)
    bounds = np.linspace(0, n, syllables + 1).astype(int)
    for start, stop in itertools.pairwise(bounds):
        piece = source[start:stop]
        spectrum = np.fft.rfft(piece)
        freqs = np.fft.rfftfreq(len(piece), 1 / SAMPLE_RATE)
        envelope = sum(1 / (1 + ((freqs - rng.uniform(lo, hi)) / FORMANT_BANDWIDTH_HZ) ** 2)
                       for lo, hi in FORMANTS_HZ)
        voiced = np.fft.irfft(spectrum * envelope, len(piece))
        loudness = np.sin(np.linspace(0, np.pi, len(piece))) ** 2
        # some syllables start with a fricative
        hiss = rng.standard_normal(len(piece)) * (rng.random() < 0.3)
        hiss[len(piece) // 4:] = 0
        voice[start:stop] = voiced * loudness + 0.05 * hiss
    return (0.5 * voice / np.abs(voice).max()).astype(np.float32)


def synthetic_weights(seed: int, calibration_windows: np.ndarray | None = None,
                      ) -> dict[str, torch.Tensor]:
    """`audio2exp.*` and `audio2pose.*` tensors exactly as in SadTalker_V0.0.2_<size>.

    `calibration_windows` (N >= 32, 80, 16) are the mel windows BatchNorm statistics are
    measured on; by default those of `synthetic_voice(seed)` (4 s, 100 windows).
    """
    rng = torch.Generator().manual_seed(seed)
    if calibration_windows is None:
        calibration_windows = AudioFeatures.from_wav(synthetic_voice(seed)).windows
    if len(calibration_windows) < SEQ_LEN:
        raise ValueError(f"calibration needs at least {SEQ_LEN} mel windows (one PoseVAE chunk), "
                         f"got {len(calibration_windows)}")
    windows = torch.from_numpy(np.asarray(calibration_windows, dtype=np.float32))
    exp_net, pose_net = ExpNet(), Audio2Pose()
    for module in (exp_net, pose_net):
        _randomize(module, rng)
    with torch.no_grad():
        for classbias in (pose_net.netG.encoder.classbias, pose_net.netG.decoder.classbias):
            classbias.normal_(generator=rng)
        _calibrate_exp(exp_net, windows, rng)
        _calibrate_pose(pose_net, windows, rng)
    return {**{f"{EXP_PREFIX}.{k}": v.clone() for k, v in exp_net.state_dict().items()},
            **{f"{POSE_PREFIX}.{k}": v.clone() for k, v in pose_net.state_dict().items()}}


def _randomize(module: nn.Module, rng: torch.Generator) -> None:
    """He-normal weights (std sqrt(2 / fan-in)) and zero biases; BatchNorm at identity."""
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, (nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                layer.weight.normal_(0, math.sqrt(2 / layer.weight[0].numel()), generator=rng)
                if layer.bias is not None:
                    layer.bias.zero_()


def _measure_batch_norms(module: nn.Module, run: Callable[[], object]) -> None:
    """Run `run()` in training mode with cumulative BatchNorm averages, so that each running
    mean/var becomes the average statistics of the batches it saw; eval mode then reuses them."""
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
    module.train()
    run()
    module.eval()
    for norm in norms:
        norm.momentum = 0.1  # PyTorch's default, as in a freshly built module


def _calibrate_exp(net: ExpNet, windows: torch.Tensor, rng: torch.Generator) -> None:
    _measure_batch_norms(net.audio_encoder, lambda: net.audio_encoder(windows))
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
    _measure_batch_norms(encoder, lambda: encoder(windows))
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

    _measure_batch_norms(decoder.resunet, decode)
    raw = decode()
    scale = POSE_MOTION_STD / raw.reshape(-1, POSE_SIZE).std(0)
    decoder.pose_linear.weight.mul_(scale[:, None])
    decoder.pose_linear.bias.mul_(scale)
    centred = decode().reshape(-1, POSE_SIZE)
    decoder.pose_linear.bias.sub_(centred.mean(0))  # zero mean motion: no jump after frame 0
