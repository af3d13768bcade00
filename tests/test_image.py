"""Portrait files as users send them: formats, modes, orientation, damage, extremes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from sadtalker.errors import ImageError
from sadtalker.image import MAX_SIDE, load_image, load_photo

ASTRONAUT = data.astronaut()


def save(path: Path, image: Image.Image, **kwargs) -> Path:
    image.save(path, **kwargs)
    return path


@pytest.mark.parametrize("suffix", ["png", "jpg", "webp", "bmp"])
def test_common_formats_decode_to_rgb(tmp_path, suffix):
    path = save(tmp_path / f"a.{suffix}", Image.fromarray(ASTRONAUT))
    pixels = load_image(path)
    assert pixels.shape == (512, 512, 3) and pixels.dtype == np.uint8
    assert np.abs(pixels.astype(int) - ASTRONAUT).mean() < 6  # lossy formats stay close


def test_transparency_is_flattened_on_white(tmp_path):
    rgba = np.dstack([ASTRONAUT, np.zeros((512, 512), np.uint8)])
    rgba[:256, :, 3] = 255
    pixels = load_image(save(tmp_path / "a.png", Image.fromarray(rgba, "RGBA")))
    assert (pixels[300:] == 255).all()
    assert np.array_equal(pixels[:256], ASTRONAUT[:256])


def test_greyscale_and_16_bit(tmp_path):
    grey = load_image(save(tmp_path / "g.png", Image.fromarray(ASTRONAUT).convert("L")))
    assert grey.shape == (512, 512, 3) and (grey[..., 0] == grey[..., 2]).all()
    wide = (np.linspace(0, 65535, 512 * 512).reshape(512, 512)).astype(np.uint16)
    pixels = load_image(save(tmp_path / "w.png", Image.fromarray(wide)))
    assert pixels[0, 0, 0] == 0 and pixels[-1, -1, 0] == 255 and pixels[256, 0, 0] in (127, 128)


def test_exif_rotation_is_honoured(tmp_path):
    image = Image.fromarray(ASTRONAUT[:, :400])  # 400 wide, 512 high
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    path = save(tmp_path / "r.jpg", image, exif=exif.tobytes(), quality=95)
    photo = load_photo(path)
    pixels = photo.pixels
    assert pixels.shape == (400, 512, 3) and photo.original_size == (512, 400)
    # the photo's top-left corner is now at the top-right
    assert np.abs(pixels[:20, -20:].astype(int) - ASTRONAUT[:20, :20].transpose(1, 0, 2)[:, ::-1]).mean() < 8


def test_cmyk_jpeg(tmp_path):
    pixels = load_image(save(tmp_path / "c.jpg", Image.fromarray(ASTRONAUT).convert("CMYK")))
    assert pixels.shape == (512, 512, 3) and np.abs(pixels.astype(int) - ASTRONAUT).mean() < 12


def test_huge_image_is_downscaled(tmp_path):
    path = save(tmp_path / "big.png", Image.new("RGB", (10000, 10000), (90, 60, 30)))
    photo = load_photo(path)
    assert photo.pixels.shape == (MAX_SIDE, MAX_SIDE, 3) and (photo.pixels == (90, 60, 30)).all()
    assert photo.original_size == (10000, 10000) and photo.scale == MAX_SIDE / 10000


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda p: p.write_text("definitely not pixels"), "cannot read"),
        (lambda p: p.write_bytes(_jpeg_bytes()[:2000]), "damaged or truncated"),
        (lambda p: Image.new("RGB", (1, 1)).save(p, format="PNG"), "too small (1x1)"),
    ],
)
def test_unusable_files_raise_image_error(tmp_path, make, fragment):
    path = tmp_path / "bad.jpg"
    make(path)
    with pytest.raises(ImageError) as info:
        load_image(path)
    assert fragment in str(info.value) and str(path) in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match="does not exist"):
        load_image(tmp_path / "nope.png")


def _jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(ASTRONAUT).save(buffer, format="JPEG")
    return buffer.getvalue()
