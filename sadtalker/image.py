"""Reading a portrait from any common image file into (H, W, 3) uint8 RGB."""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from sadtalker.errors import ImageError

log = logging.getLogger(__name__)

MAX_SIDE = 4096  # larger photos are downscaled first: the face crop is 256/512 px anyway
MIN_SIDE = 64  # smaller images cannot hold a face the networks can read
WHITE = (255, 255, 255)


def _to_rgb(image: Image.Image) -> np.ndarray:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16/32-bit greyscale: scale, not clip
        wide = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if image.mode.startswith("I;16") or wide.max() > 255 else 255.0
        grey = np.clip(np.rint(wide / peak * 255), 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):  # flatten transparency onto white
        background = Image.new("RGB", image.size, WHITE)
        background.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        return np.asarray(background)
    return np.asarray(image.convert("RGB"))


@dataclass(frozen=True)
class Photo:
    """A decoded photo and the size it has as displayed, before any downscale on load."""

    pixels: np.ndarray  # (H, W, 3) uint8 RGB
    original_size: tuple[int, int]  # (W, H)

    @property
    def scale(self) -> float:
        """Pixels per original pixel: below 1 where the photo was downscaled on load."""
        return self.pixels.shape[1] / self.original_size[0]


def load_photo(path: str | os.PathLike[str], max_side: int = MAX_SIDE) -> Photo:
    """Decode a jpg/png/webp/bmp (EXIF rotation applied, transparency on white, 16-bit scaled),
    downscaled to `max_side` on its longer side."""
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"image {path} does not exist")
    try:
        with warnings.catch_warnings():
            # up to PIL's hard limit (~179 MP) big photos are fine: they are downscaled below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                opened.load()
                image = ImageOps.exif_transpose(opened)
                pixels = _to_rgb(image)
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{path} is too large to decode safely ({exc}): downscale it "
                         "first") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"cannot read {path} as an image ({exc}): use a jpg, png, webp or "
                         "bmp portrait") from exc
    except (OSError, SyntaxError, ValueError) as exc:  # truncated or corrupt data
        raise ImageError(f"{path} is damaged or truncated ({exc}): re-export the image") from exc
    height, width = pixels.shape[:2]
    original = (width, height)
    if min(height, width) < MIN_SIDE:
        raise ImageError(f"{path} is too small ({width}x{height}): the face needs at least "
                         f"{MIN_SIDE} px a side")
    if max(height, width) > max_side:
        scale = max_side / max(height, width)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        log.info("%s is %dx%d: downscaled to %dx%d", path.name, width, height, *size)
        pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
    return Photo(np.ascontiguousarray(pixels), original)


def load_image(path: str | os.PathLike[str], max_side: int = MAX_SIDE) -> np.ndarray:
    """The (H, W, 3) uint8 RGB pixels of `load_photo`."""
    return load_photo(path, max_side).pixels
