"""PoseVAE: a conditional VAE that turns 32 frames of audio features, a pose-style class and a
Gaussian latent into 32 frames of head motion (3 angles + 3 translations) relative to the
source pose.

Inference only runs the decoder; the encoder and the discriminator are trained parts of the
official checkpoint, kept so that it loads strictly.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from sadtalker.coeff_layout import POSE_SIZE
from sadtalker.coeffs.audio_encoder import EMBEDDING, AudioEncoder
from sadtalker.coeffs.pose_discriminator import PoseSequenceDiscriminator
from sadtalker.coeffs.res_unet import ResUnet

SEQ_LEN = 32  # frames decoded per latent draw
LATENT = 64
NUM_STYLES = 46  # pose-style classes (training identities)
AUDIO_PER_FRAME = 6  # audio features kept per frame: 512 -> 6
HIDDEN = 128
ENCODER_INPUT = 454  # what the official encoder was built with (192 + 64 + 192 + 6)


class PoseEncoder(nn.Module):
    """The CVAE's training-time encoder; only its weights are kept here."""

    def __init__(self):
        super().__init__()
        self.resunet = ResUnet()
        self.MLP = nn.Sequential()
        self.MLP.add_module("L0", nn.Linear(ENCODER_INPUT, HIDDEN))
        self.MLP.add_module("A0", nn.ReLU())
        self.linear_means = nn.Linear(HIDDEN, LATENT)
        self.linear_logvar = nn.Linear(HIDDEN, LATENT)
        self.linear_audio = nn.Linear(EMBEDDING, AUDIO_PER_FRAME)
        self.classbias = nn.Parameter(torch.zeros(NUM_STYLES, LATENT))


class PoseDecoder(nn.Module):
    """(latent, style, source pose, 32 frames of audio) -> 32 frames of pose motion."""

    def __init__(self):
        super().__init__()
        self.resunet = ResUnet()
        self.MLP = nn.Sequential()
        self.MLP.add_module("L0", nn.Linear(POSE_SIZE + LATENT + SEQ_LEN * AUDIO_PER_FRAME, HIDDEN))
        self.MLP.add_module("A0", nn.ReLU())
        self.MLP.add_module("L1", nn.Linear(HIDDEN, SEQ_LEN * POSE_SIZE))
        self.MLP.add_module("sigmoid", nn.Sigmoid())
        self.pose_linear = nn.Linear(POSE_SIZE, POSE_SIZE)
        self.linear_audio = nn.Linear(EMBEDDING, AUDIO_PER_FRAME)
        self.classbias = nn.Parameter(torch.zeros(NUM_STYLES, LATENT))

    def forward(self, z: torch.Tensor, style: int, ref_pose: torch.Tensor,
                audio: torch.Tensor) -> torch.Tensor:
        """(K, 64), class id, (K, 6), (K, 32, 512) -> (K, 32, 6) motion."""
        audio = self.linear_audio(audio).flatten(1)
        x = self.MLP(torch.cat([ref_pose, z + self.classbias[style], audio], dim=1))
        pose = self.resunet(x.view(-1, 1, SEQ_LEN, POSE_SIZE)).squeeze(1)
        return self.pose_linear(pose)


class CVAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = PoseEncoder()
        self.decoder = PoseDecoder()


def num_latents(frames: int) -> int:
    """Latent draws for a clip: one per 32 frames after the first, rounded up."""
    return math.ceil(max(frames - 1, 0) / SEQ_LEN)


class Audio2Pose(nn.Module):
    """Mel windows -> per-frame head motion; frame 0 is the source pose (zero motion)."""

    def __init__(self):
        super().__init__()
        # the official layout nests the encoder one level deeper than ExpNet's
        self.audio_encoder = nn.ModuleDict({"audio_encoder": AudioEncoder()})
        self.netG = CVAE()
        self.netD_motion = PoseSequenceDiscriminator()

    def forward(self, windows: torch.Tensor, ref_pose: torch.Tensor, style: int,
                z: torch.Tensor) -> torch.Tensor:
        """(T, 80, 16), (6,), class id, (num_latents(T), 64) -> (T, 6) motion.

        Frames 1.. are decoded in 32-frame chunks, each with its own latent and no link
        between chunks. A final partial chunk is decoded from the clip's last 32 frames (or all
        of them, left-padded with the first when fewer) and keeps only its last frames.
        """
        frames = len(windows)
        motion = [windows.new_zeros(1, POSE_SIZE)]
        if frames > 1:
            audio = self.audio_encoder["audio_encoder"](windows[1:])
            full, rest = divmod(frames - 1, SEQ_LEN)
            chunks = list(audio[: full * SEQ_LEN].view(full, SEQ_LEN, EMBEDDING))
            if rest:
                tail = audio[-SEQ_LEN:]
                pad = tail[:1].expand(SEQ_LEN - len(tail), EMBEDDING)
                chunks.append(torch.cat([pad, tail]))
            decoded = self.netG.decoder(z, style, ref_pose.expand(len(chunks), POSE_SIZE),
                                        torch.stack(chunks))
            motion += list(decoded[:full])
            if rest:
                motion.append(decoded[-1, -rest:])
        return torch.cat(motion)
