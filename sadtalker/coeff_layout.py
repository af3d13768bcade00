"""Where each number sits in the coefficient vectors that carry a face from stage to stage.

Three vectors:

- the 3DMM regressor's output, RECON_COEFFS = 257 values in Deep3DFaceRecon's order, of which
  SadTalker keeps the expression, the angles and the translation;
- the per-frame coefficients the audio drives, FRAME_COEFFS = 70: expression | pose, the pose
  being 3 rotation angles (radians) then 3 translations;
- the portrait's coefficients, SOURCE_COEFFS = 73: its own 70 in that layout, then the three
  parameters of its 5-point alignment (scale, tx, ty), which MappingNet reads in full modes.

Names ending in ``_SIZE`` are widths of one group, ``_COEFFS`` widths of a whole vector; the
others are slices of a vector.
"""

from __future__ import annotations

# The regressor: one output head per group, concatenated in this order.
RECON_HEAD_SIZES = (80, 64, 80, 3, 27, 2, 1)  # identity, expression, texture, angles,
#                                               lighting, translation x/y, translation z
RECON_COEFFS = 257
RECON_EXPRESSION = slice(80, 144)
RECON_ANGLES = slice(224, 227)
RECON_TRANSLATION = slice(254, 257)

EXPRESSION_SIZE = 64  # 3DMM expression basis weights
POSE_SIZE = 6  # 3 angles + 3 translations
ALIGNMENT_SIZE = 3

# Per-frame coefficients (T, FRAME_COEFFS); the portrait's (SOURCE_COEFFS,) start the same way.
EXPRESSION = slice(0, 64)
POSE = slice(64, 70)
ANGLES = slice(64, 67)
TRANSLATION = slice(67, 70)
FRAME_COEFFS = 70
# The portrait only: the alignment's scale and offsets (its trans_params[2:]), which tell the
# full modes' MappingNet where the face sits in the crop.
ALIGNMENT = slice(70, 73)
SOURCE_COEFFS = 73
