"""From mel windows and the portrait's coefficients to per-frame expression + pose, seeded."""

from __future__ import annotations

import numpy as np
import torch

from sadtalker.coeff_layout import EXPRESSION, EXPRESSION_SIZE, FRAME_COEFFS, POSE, POSE_SIZE
from sadtalker.coeffs.audio2pose import LATENT, NUM_STYLES, num_latents
from sadtalker.coeffs.blink import blink_ratios
from sadtalker.coeffs.loading import CoeffModels
from sadtalker.errors import InputError, OptionError

SMOOTH_WINDOW = 13  # Savitzky-Golay window (frames) over the pose
SMOOTH_ORDER = 2


def tile_rows(rows: np.ndarray, count: int) -> np.ndarray:
    """`rows` repeated from the start until there are `count` of them (then cut)."""
    return np.resize(rows, (count, *rows.shape[1:]))


def smooth_pose(pose: np.ndarray) -> np.ndarray:
    """Savitzky-Golay (13 frames, quadratic) along time; a shorter odd window for short clips.

    With 2 frames or fewer a quadratic fits the whole clip exactly, so it is returned as is.
    """
    window = min(SMOOTH_WINDOW, (len(pose) - 1) // 2 * 2 + 1)
    if window <= SMOOTH_ORDER:
        return pose
    import scipy.signal  # deferred: a fifth of a render pod's imports, which never smooth

    return scipy.signal.savgol_filter(pose, window, SMOOTH_ORDER, axis=0)


def _check(windows: np.ndarray, source_coeffs: np.ndarray, pose_style: int,
           ref_eyeblink: np.ndarray | None, ref_pose: np.ndarray | None) -> None:
    if windows.ndim != 3 or windows.shape[1:] != (80, 16) or len(windows) == 0:
        raise InputError(f"mel windows have shape {windows.shape}, expected (frames>0, 80, 16): "
                         "compute them with sadtalker.audio.AudioFeatures")
    if source_coeffs.shape != (FRAME_COEFFS,):
        raise InputError(f"source coefficients have shape {source_coeffs.shape}, expected "
                         f"({FRAME_COEFFS},) = expression {EXPRESSION_SIZE} | pose {POSE_SIZE}")
    if not 0 <= pose_style < NUM_STYLES:
        raise OptionError(f"pose_style {pose_style} is out of range: use 0..{NUM_STYLES - 1}")
    for name, ref, width in (("ref_eyeblink", ref_eyeblink, EXPRESSION_SIZE),
                             ("ref_pose", ref_pose, POSE_SIZE)):
        if ref is not None and (ref.ndim != 2 or ref.shape[1] != width or len(ref) == 0):
            raise InputError(f"{name} has shape {ref.shape}, expected (frames>0, {width})")


def generate_coefficients(windows: np.ndarray, source_coeffs: np.ndarray, models: CoeffModels,
                          pose_style: int = 0, seed: int = 0, still: bool = False,
                          ref_eyeblink: np.ndarray | None = None,
                          ref_pose: np.ndarray | None = None) -> np.ndarray:
    """(T, FRAME_COEFFS) float32 coefficients for T frames of (80, 16) mel windows.

    Expression: ExpNet per frame from the source expression (or the `ref_eyeblink` video's
    expressions, tiled, with blinks off) and a random blink schedule. Pose: the source pose
    plus PoseVAE motion, smoothed, plus the `ref_pose` video's motion relative to its first
    frame (tiled); `still` keeps the source pose throughout. Every random draw (blinks first,
    then one latent per 32 frames) comes from one generator seeded by `seed`.
    """
    windows = np.asarray(windows, dtype=np.float32)
    source_coeffs = np.asarray(source_coeffs, dtype=np.float32)
    _check(windows, source_coeffs, pose_style, ref_eyeblink, ref_pose)
    frames = len(windows)
    rng = np.random.default_rng(seed)
    # blinks are drawn even when unused, so that a seed gives the same head motion either way
    blink = blink_ratios(frames, rng)
    z = rng.standard_normal((num_latents(frames), LATENT), dtype=np.float32)
    if ref_eyeblink is None:
        ref_exp = np.repeat(source_coeffs[None, EXPRESSION], frames, axis=0)
    else:
        ref_exp = tile_rows(np.asarray(ref_eyeblink, dtype=np.float32), frames)
        blink = np.zeros_like(blink)  # the reference video's expressions carry its own blinks

    device = next(models.exp.parameters()).device
    with torch.inference_mode():
        mels = torch.from_numpy(windows).to(device)
        exp = models.exp(mels, torch.from_numpy(ref_exp).to(device),
                         torch.from_numpy(blink).to(device))
        source_pose = torch.from_numpy(source_coeffs[POSE]).to(device)
        motion = models.pose(mels, source_pose, pose_style, torch.from_numpy(z).to(device))
    pose = smooth_pose(source_coeffs[POSE] + motion.cpu().numpy().astype(np.float64))
    if ref_pose is not None:
        ref = tile_rows(np.asarray(ref_pose, dtype=np.float64), frames)
        pose = pose + (ref - ref[:1])
    if still:
        pose = np.broadcast_to(source_coeffs[POSE], pose.shape)
    return np.concatenate([exp.cpu().numpy(), pose], axis=1).astype(np.float32)
