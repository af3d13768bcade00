"""The face renderer (face-vid2vid as used by SadTalker): coefficients -> frames."""

from sadtalker.render.renderer import Renderer, SourceState

__all__ = ["Renderer", "SourceState"]
