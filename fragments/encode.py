"""Fragments as the answer carries them: nested lists, PNG images, base64 PNGs, a zip of PNGs.

The images are grey: 0 white, 1 black (255 − 255·v per channel, clipped), opaque; cells
without a value (-1) come out white. No imaging library: the PNG is written here (8-bit RGBA,
no filtering, zlib).
"""

import base64
import io
import struct
import zlib
import zipfile

import numpy as np


def as_lists(fragment, precision=0):
    return (np.round(fragment, precision) if precision > 0 else fragment).tolist()


def _chunk(kind, data):
    return struct.pack("!I", len(data)) + kind + data + struct.pack("!I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(fragment, level=5):
    """The fragment (2-D values, 1 = black) as PNG bytes, row 0 at the top."""
    grey = np.clip(255 - np.asarray(fragment, dtype=np.float64) * 255, 0, 255).astype(np.uint8)
    height, width = grey.shape
    rows = np.full((height, 1 + 4 * width), 255, dtype=np.uint8)
    rows[:, 0] = 0  # filter type: none
    for channel in range(3):
        rows[:, 1 + channel::4] = grey
    header = struct.pack("!2I5B", width, height, 8, 6, 0, 0, 0)
    return b"".join([
        b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", header),
        _chunk(b"IDAT", zlib.compress(rows.tobytes(), level)), _chunk(b"IEND", b""),
    ])


def b64_png(fragment):
    return base64.b64encode(png(fragment)).decode("ascii")


def zip_of_pngs(fragments):
    """A zip holding ``0.png``, ``1.png``, ... (one per fragment)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for index, fragment in enumerate(fragments):
            archive.writestr(f"{index}.png", png(fragment))
    return buffer.getvalue()
