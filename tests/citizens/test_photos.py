"""A citizen's photo is kept as pixels only: no EXIF (no GPS, no camera), upright, at most
the configured size, and only JPEG, PNG or WebP as decoded; bombs and broken files are
refused with one line."""

from __future__ import annotations

import io
import zlib

import pytest
from PIL import Image, ImageCms

from citizens.photos import MAX_PIXELS, Photo, PhotoTooLarge, sanitize
from tests.fixtures.photos import (
    CAMERA_MAKE,
    CAMERA_MODEL,
    GPS_IFD,
    MAKE,
    ORIENTATION,
    SERIAL,
    phone_jpeg,
)  # fmt: skip

MAX_BYTES = 5 * 1024 * 1024
MAX_SIDE = 1600


def _opened(photo: Photo) -> Image.Image:
    return Image.open(io.BytesIO(photo.data))


def test_the_phone_jpeg_carries_what_must_go() -> None:
    """The fixture itself: GPS, make and serial are really in the bytes going in."""
    data = phone_jpeg()
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        assert exif[MAKE] == CAMERA_MAKE and exif[ORIENTATION] == 6
        assert exif.get_ifd(GPS_IFD)[1] == "S"
    assert CAMERA_MAKE.encode() in data and SERIAL.encode() in data


def test_stored_photo_has_no_exif_at_all_and_stands_upright() -> None:
    photo = sanitize(phone_jpeg(), max_bytes=MAX_BYTES, max_side_px=MAX_SIDE)
    assert photo.content_type == "image/jpeg"
    # Orientation 6 applied: 400x200 landscape pixels become a 200x400 portrait.
    assert (photo.width, photo.height) == (200, 400)
    with _opened(photo) as stored:
        assert stored.format == "JPEG" and stored.size == (200, 400)
        assert len(stored.getexif()) == 0
        assert not {"exif", "icc_profile", "xmp", "comment"} & set(stored.info)
        # Turned clockwise: the left (red) half is now the top.
        top, bottom = stored.getpixel((100, 50)), stored.getpixel((100, 350))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[0] > 200 and top[2] < 60, top
    assert bottom[2] > 200 and bottom[0] < 60, bottom
    for leaked in (b"Exif\x00\x00", CAMERA_MAKE.encode(), CAMERA_MODEL.encode(), SERIAL.encode()):
        assert leaked not in photo.data


def test_large_photos_are_scaled_to_the_long_side() -> None:
    photo = sanitize(phone_jpeg(3200, 1800, orientation=1), max_bytes=MAX_BYTES, max_side_px=800)
    assert (photo.width, photo.height) == (800, 450)


def test_png_with_transparency_stays_png_without_its_text_chunks() -> None:
    from PIL import PngImagePlugin

    image = Image.new("RGBA", (64, 32), (0, 128, 0, 100))
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", CAMERA_MAKE)
    info.add_text("GPS", "-6.2,106.8")
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info)
    photo = sanitize(out.getvalue(), max_bytes=MAX_BYTES, max_side_px=MAX_SIDE)
    assert photo.content_type == "image/png" and (photo.width, photo.height) == (64, 32)
    assert CAMERA_MAKE.encode() not in photo.data and b"106.8" not in photo.data
    with _opened(photo) as stored:
        assert stored.mode == "RGBA" and not set(stored.info) - {"dpi"}


def test_webp_is_accepted_and_stored_as_jpeg() -> None:
    out = io.BytesIO()
    Image.new("RGB", (50, 40), (10, 20, 30)).save(out, "WEBP")
    photo = sanitize(out.getvalue(), max_bytes=MAX_BYTES, max_side_px=MAX_SIDE)
    assert photo.content_type == "image/jpeg" and (photo.width, photo.height) == (50, 40)


def test_an_embedded_colour_profile_is_applied_not_kept() -> None:
    """An ICC profile (an sRGB one: Pillow builds no wide-gamut profile) goes through the
    colour conversion and is not stored; the colours stay put."""
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    out = io.BytesIO()
    Image.new("RGB", (20, 20), (200, 100, 50)).save(out, "JPEG", icc_profile=profile.tobytes())
    photo = sanitize(out.getvalue(), max_bytes=MAX_BYTES, max_side_px=MAX_SIDE)
    with _opened(photo) as stored:
        assert "icc_profile" not in stored.info
        pixel = stored.getpixel((10, 10))
    assert isinstance(pixel, tuple) and abs(pixel[0] - 200) < 8, pixel


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "photo is empty"),
        (b"GIF89a" + b"\x00" * 100, "photo is not a JPEG, PNG or WebP image"),
        (b"%PDF-1.7 not a photo at all", "photo is not a JPEG, PNG or WebP image"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "photo is not a JPEG, PNG or WebP image"),
    ],
    ids=["empty", "gif-header", "pdf", "svg"],
)
def test_what_is_not_an_accepted_image_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=r"^" + message) as caught:
        sanitize(data, max_bytes=MAX_BYTES, max_side_px=MAX_SIDE)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_real_images_of_other_types_are_refused_by_their_decoded_format(fmt: str) -> None:
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, fmt)
    with pytest.raises(ValueError, match="not a JPEG, PNG or WebP"):
        sanitize(out.getvalue(), max_bytes=MAX_BYTES, max_side_px=MAX_SIDE)


def test_too_many_bytes_is_its_own_error() -> None:
    data = phone_jpeg()
    with pytest.raises(PhotoTooLarge, match=f"at most {len(data) - 1}$"):
        sanitize(data, max_bytes=len(data) - 1, max_side_px=MAX_SIDE)


def test_a_decompression_bomb_is_refused_from_its_header() -> None:
    """A PNG of a few kilobytes declaring 9000x9000 pixels (81 MP, 243 MB decoded):
    refused before a pixel is decoded."""
    out = io.BytesIO()
    Image.new("L", (9000, 9000)).save(out, "PNG", optimize=True)
    data = out.getvalue()
    assert len(data) < 200_000 and MAX_PIXELS < 9000 * 9000
    with pytest.raises(ValueError, match=r"^photo has too many pixels: 9000x9000 \(at most"):
        sanitize(data, max_bytes=MAX_BYTES, max_side_px=MAX_SIDE)


def test_beyond_pillows_own_bomb_limit_is_refused_too() -> None:
    """A header claiming 20000x20000 (past twice Pillow's MAX_IMAGE_PIXELS, where Pillow
    itself raises): the PNG header is edited, its CRC made right; no such image is made."""
    out = io.BytesIO()
    Image.new("L", (16, 16)).save(out, "PNG")
    data = bytearray(out.getvalue())
    # The IHDR chunk: type at 12..16, width and height at 16..24, its CRC at 29..33.
    data[16:24] = (20000).to_bytes(4, "big") + (20000).to_bytes(4, "big")
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    with pytest.raises(ValueError, match=r"^photo has too many pixels \(at most"):
        sanitize(bytes(data), max_bytes=MAX_BYTES, max_side_px=MAX_SIDE)


def test_a_truncated_photo_is_refused() -> None:
    data = phone_jpeg(800, 600, orientation=1)
    with pytest.raises(ValueError, match=r"^photo is damaged"):
        sanitize(data[: len(data) // 2], max_bytes=MAX_BYTES, max_side_px=MAX_SIDE)
