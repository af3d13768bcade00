"""GFPGAN v1.4 face restoration of rendered frames, through the `gfpgan` package, offline.

`GFPGANer` itself hard-codes a working-directory-relative ``gfpgan/weights`` for facexlib's
RetinaFace detector and ParseNet face parser and downloads them when they are missing there.
`_LocalGFPGANer` builds exactly what `GFPGANer.__init__` builds for ``arch='clean',
channel_multiplier=2`` but points facexlib's ``model_rootpath`` at our checkpoint directory,
after checking every file is there, so no download can start; restoration itself is
`GFPGANer.enhance`, unchanged.

Output size: SadTalker runs GFPGANer with upscale=2, doubling the video's size. We keep the
input size (upscale=1): every chunk's frames stay the size the renderer (or paste-back) made,
and the face is still restored at GFPGAN's native 512x512 before being warped back.
GFPGAN's StyleGAN decoder adds random noise maps on every call (from torch's global RNG);
we draw them from a fixed seed for every frame, so a frame's restoration does not depend on
the chunk it falls in or on the run, and the texture does not flicker from frame to frame.
Only the most central face of each frame is restored: a talking-head frame animates one face,
and this bounds the cost at one GFPGAN pass per frame (SadTalker restores every face found).

Importing this module imports gfpgan, basicsr and facexlib (a few seconds): import it only
when the enhancer is asked for.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from sadtalker import torchvision_compat, weights
from sadtalker.options import Precision

torchvision_compat.install()  # must precede the first import of gfpgan/basicsr

from facexlib.detection.retinaface import RetinaFace
from facexlib.parsing.parsenet import ParseNet
from facexlib.utils.face_restoration_helper import FaceRestoreHelper
from gfpgan import GFPGANer
from gfpgan.archs.gfpganv1_clean_arch import GFPGANv1Clean

from sadtalker import enhance_winograd

log = logging.getLogger(__name__)

UPSCALE = 1  # keep the frame size (SadTalker: 2)
FACE_SIZE = 512  # GFPGAN v1.4 restores faces aligned to the FFHQ template at 512x512
RESTORE_WEIGHT = 0.5  # GFPGANer.enhance's default, used by SadTalker
EYE_DIST_THRESHOLD = 5  # GFPGANer skips faces whose eyes are closer than this (pixels)
GFPGAN_KEYS = ("params_ema", "params")  # the EMA weights GFPGANer prefers, else the raw ones
DATA_PARALLEL_PREFIX = "module."  # facexlib drops it from RetinaFace keys that carry it


def gfpgan_v14() -> GFPGANv1Clean:
    """The network GFPGANer builds for arch='clean', channel_multiplier=2 (v1.3 / v1.4)."""
    return GFPGANv1Clean(out_size=FACE_SIZE, num_style_feat=512, channel_multiplier=2,
                         decoder_load_path=None, fix_decoder=False, num_mlp=8,
                         input_is_latent=True, different_w=True, narrow=1, sft_half=True)


@contextlib.contextmanager
def _quiet_resnet_construction() -> Iterator[None]:
    """Silence torchvision's deprecation warnings for facexlib's `resnet50(pretrained=False)`."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module="torchvision.models._utils")
        yield


def retinaface() -> RetinaFace:
    """facexlib's face detector, as FaceRestoreHelper builds it for GFPGANer."""
    with _quiet_resnet_construction():
        return RetinaFace(network_name="resnet50", half=False, device="cpu")


def parsenet() -> ParseNet:
    """facexlib's face parser, as FaceRestoreHelper builds it for GFPGANer's paste-back."""
    return ParseNet(in_size=FACE_SIZE, out_size=FACE_SIZE, parsing_ch=19)


class _LocalGFPGANer(GFPGANer):
    """GFPGANer whose face detector and parser load from `directory`, never downloaded."""

    def __init__(self, model_path: Path, directory: Path, device: torch.device) -> None:
        # GFPGANer.__init__ is not called: it would look for (and fetch) the facexlib files
        # under ./gfpgan/weights. These are the attributes GFPGANer.enhance uses.
        self.upscale = UPSCALE
        self.bg_upsampler = None
        self.device = device
        key, state = weights.load_torch_state(model_path, GFPGAN_KEYS)
        self.gfpgan = weights.load_strict(gfpgan_v14(), state, model_path, key)
        self.gfpgan.eval().to(device)
        try:
            with _quiet_resnet_construction():
                self.face_helper = FaceRestoreHelper(
                    UPSCALE, face_size=FACE_SIZE, crop_ratio=(1, 1),
                    det_model="retinaface_resnet50", save_ext="png", use_parse=True,
                    device=device, model_rootpath=str(directory))
        except Exception:
            _check_facexlib_files(directory)
            raise  # neither file is at fault


def _check_facexlib_files(directory: Path) -> None:
    """Load the files facexlib reads itself through the strict loader, so that a failure
    inside facexlib becomes an error naming the file and key."""
    for name, build in ((weights.RETINAFACE, retinaface), (weights.PARSENET, parsenet)):
        path = directory / name
        _, state = weights.load_torch_state(path)
        state = {key.removeprefix(DATA_PARALLEL_PREFIX): value for key, value in state.items()}
        weights.load_strict(build(), state, path)


class _Bfloat16Network(torch.nn.Module):
    """A network run in bfloat16 behind the float32 interface GFPGANer feeds and reads."""

    def __init__(self, network: torch.nn.Module) -> None:
        super().__init__()
        self.network = network.to(torch.bfloat16)

    def forward(self, x: torch.Tensor, **kwargs: Any) -> tuple[torch.Tensor, list[torch.Tensor]]:
        image, rgbs = self.network(x.to(torch.bfloat16), **kwargs)
        return image.float(), [rgb.float() for rgb in rgbs]


class Enhancer:
    """GFPGAN v1.4 restoration of (N, H, W, 3) uint8 RGB frames, keeping their size."""

    def __init__(self, restorer: GFPGANer, seed: int = 0) -> None:
        self.restorer = restorer
        self.seed = seed

    @classmethod
    def load(cls, checkpoint_dir: str | os.PathLike[str] | None = None,
             device: str | torch.device = "cpu", seed: int = 0,
             precision: Precision = Precision.FP32) -> Enhancer:
        """Load GFPGANv1.4.pth, RetinaFace and ParseNet from the checkpoint directory only.

        `precision` bf16 runs the GFPGAN network, where the enhancer spends most of its time,
        in bfloat16, winograd its wide 3x3 convolutions by Winograd (`enhance_winograd`); the
        face detector and parser stay float32.
        """
        model = weights.locate(weights.GFPGAN, checkpoint_dir)
        for name in (weights.RETINAFACE, weights.PARSENET):
            weights.locate(name, checkpoint_dir)  # facexlib would download a missing one
        log.info("loading GFPGAN v1.4 from %s", model.parent)
        restorer = _LocalGFPGANer(model, model.parent, torch.device(device))
        precision = Precision(precision).resolve()
        if precision is Precision.BF16:
            restorer.gfpgan = _Bfloat16Network(restorer.gfpgan)
        elif precision is Precision.WINOGRAD:
            enhance_winograd.use_winograd(restorer.gfpgan)
        return cls(restorer, seed)

    def enhance(self, frames: np.ndarray) -> np.ndarray:
        """Restore the central face of each frame; frames without a face come back unchanged."""
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"expected (N, H, W, 3) uint8 frames, got {frames.shape} "
                             f"{frames.dtype}")
        out = np.empty_like(frames)
        for i, frame in enumerate(frames):
            restored = self._restore(frame)
            out[i] = frame if restored is None else restored
        return out

    def fix_face_mask(self, reference: np.ndarray) -> bool:
        """Blend every later frame's restored face through the mask of `reference`'s.

        GFPGANer pastes a restored face back through a mask from the face parser, run on each
        restored face aligned to GFPGAN's template: the largest part of the enhancer's cost.
        Aligned, a talking head's face covers the same template region from frame to frame, so
        its parse is taken once, from a frame known before any is rendered (the source portrait
        placed as the frames are), which keeps every frame independent of the chunk it falls
        in. False, and every frame parsed as before, when `reference` has no face to restore.
        """
        helper = self.restorer.face_helper
        parse = helper.face_parse
        outputs: list[tuple[torch.Tensor, ...]] = []

        def recorded(face: torch.Tensor) -> tuple[torch.Tensor, ...]:
            outputs.append(parse(face))
            return outputs[-1]

        helper.face_parse = recorded
        try:
            self._restore(reference)
        finally:
            helper.face_parse = parse
        if not outputs:
            log.info("no face in the enhancer's reference frame: every frame's face is parsed")
            return False
        helper.face_parse = _FixedOutput(outputs[0])
        return True

    def _restore(self, frame: np.ndarray) -> np.ndarray | None:
        """`frame` (H, W, 3) uint8 RGB with its central face restored; None if it has none."""
        device = self.restorer.device
        rng_devices = [device.index or 0] if device.type == "cuda" else []
        with torch.inference_mode(), torch.random.fork_rng(devices=rng_devices):
            torch.manual_seed(self.seed)  # the same noise maps for every frame
            _, faces, restored = self.restorer.enhance(
                cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), has_aligned=False,
                only_center_face=True, paste_back=True, weight=RESTORE_WEIGHT)
        return cv2.cvtColor(restored, cv2.COLOR_BGR2RGB) if faces else None


class _FixedOutput(torch.nn.Module):
    """Stands in for the face parser: the output it gave for the reference face, every time."""

    def __init__(self, output: tuple[torch.Tensor, ...]) -> None:
        super().__init__()
        self.output = output

    def forward(self, face: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.output
