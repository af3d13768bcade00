"""Audio to coefficients: per video frame, 64 expression coefficients (ExpNet) and a 6-D head
pose (PoseVAE), from the speech's mel windows and the portrait's own coefficients."""

from sadtalker.coeffs.audio2exp import ExpNet
from sadtalker.coeffs.audio2pose import Audio2Pose
from sadtalker.coeffs.generate import generate_coefficients
from sadtalker.coeffs.loading import CoeffModels, load_coeff_models

__all__ = ["Audio2Pose", "CoeffModels", "ExpNet", "generate_coefficients", "load_coeff_models"]
