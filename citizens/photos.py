"""A citizen's photo, made safe to keep: decoded, turned upright, re-encoded from pixels.

A phone's photo carries where it was taken (EXIF GPS), the phone's make and serial, the
time, sometimes a thumbnail of the uncropped original. Stripping known tags would trust
that we know every place such data hides (EXIF, XMP, IPTC, maker notes, PNG text chunks,
ICC descriptions); instead only the pixels are kept: the image is decoded, rotated as its
EXIF orientation says (the one tag worth anything, applied, so the tag is not needed),
scaled down to ``max_side_px``, copied into a new image that has no metadata at all, and
encoded again: JPEG, or PNG when it has transparency.

What is accepted is decided by decoding, never by a file name or a declared type: only
Pillow's JPEG, PNG and WebP decoders are tried. A decompression bomb (a few kilobytes
declaring a gigapixel) is refused from its header, before any pixel is decoded.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

__all__ = ["ACCEPTED_FORMATS", "MAX_PIXELS", "Photo", "PhotoTooLarge", "sanitize"]

#: Pillow's names of the formats accepted (as decoded, not as claimed).
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
#: The most pixels a photo may declare: a 48-megapixel phone camera fits; decoding it
#: costs ~150 MB, and JPEGs (most photos) are decoded at a reduced scale anyway.
MAX_PIXELS = 50_000_000
JPEG_QUALITY = 85
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})


@dataclass(frozen=True)
class Photo:
    """A photo as stored: re-encoded, no metadata (what ``sanitize`` returns)."""

    content_type: str  # image/jpeg or image/png
    width: int
    height: int
    data: bytes

    def __repr__(self) -> str:  # the bytes are never worth printing
        return f"Photo({self.content_type}, {self.width}x{self.height}, {len(self.data)} bytes)"


class PhotoTooLarge(ValueError):
    """The photo as sent is over the byte limit (the API answers 413, not 422)."""


def _has_alpha(image: Image.Image) -> bool:
    if image.mode in _ALPHA_MODES:
        return True
    return image.mode == "P" and "transparency" in image.info


def _to_srgb(image: Image.Image, mode: str) -> Image.Image:
    """``image`` in ``mode``, its colours converted to sRGB when it carried another ICC
    profile (an iPhone's Display P3): the profile itself is not kept, so without this the
    colours would shift. A profile that cannot be read is ignored (plain conversion)."""
    icc = image.info.get("icc_profile")
    if icc and image.mode in ("RGB", "RGBA", "CMYK", "L"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            target = ImageCms.createProfile("sRGB")
            converted = ImageCms.profileToProfile(image, source, target, outputMode=mode)
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            converted = None
        if converted is not None:
            return converted
    return image if image.mode == mode else image.convert(mode)


def sanitize(data: bytes, *, max_bytes: int, max_side_px: int) -> Photo:
    """The photo in ``data`` re-encoded with nothing but its pixels (see the module doc).

    Raises ``PhotoTooLarge`` past ``max_bytes``, and ``ValueError`` with one line for
    anything else refused: not a JPEG, PNG or WebP image; more than :data:`MAX_PIXELS`;
    truncated or damaged. The message never quotes the data.
    """
    if len(data) > max_bytes:
        raise PhotoTooLarge(f"photo too large: {len(data)} bytes, at most {max_bytes}")
    if not data:
        raise ValueError("photo is empty")
    try:
        image = Image.open(io.BytesIO(data), formats=list(ACCEPTED_FORMATS))
    except UnidentifiedImageError:
        raise ValueError("photo is not a JPEG, PNG or WebP image") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # The warning (past Pillow's own cap) is an error under ``-W error``.
        raise ValueError(f"photo has too many pixels (at most {MAX_PIXELS:,})") from None
    except (OSError, SyntaxError, ValueError):
        raise ValueError("photo is damaged: its header cannot be read") from None
    with image:
        width, height = image.size
        if width < 1 or height < 1 or width * height > MAX_PIXELS:
            raise ValueError(
                f"photo has too many pixels: {width}x{height} (at most {MAX_PIXELS:,})"
            )
        if image.format == "JPEG":
            # Decode at 1/2, 1/4 or 1/8 scale when that still covers the target size:
            # a 48 MP photo then costs a fraction of its full decode.
            image.draft(None, (max_side_px, max_side_px))
        try:
            image.seek(0)  # an animated WebP or APNG: its first frame
            image.load()
            upright = ImageOps.exif_transpose(image)
        except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
            raise ValueError("photo is damaged or truncated") from None
        alpha = _has_alpha(upright)
        pixels = _to_srgb(upright, "RGBA" if alpha else "RGB")
        pixels.thumbnail((max_side_px, max_side_px), Image.Resampling.LANCZOS)
        # A new image from raw pixels: no info dict, no EXIF, no ICC, no text chunks,
        # whatever the encoder would otherwise copy from the source.
        clean = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
    out = io.BytesIO()
    if alpha:
        clean.save(out, "PNG", optimize=True)
        content_type = "image/png"
    else:
        clean.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
        content_type = "image/jpeg"
    return Photo(content_type, clean.width, clean.height, out.getvalue())
