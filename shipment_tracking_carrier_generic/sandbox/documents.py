# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Small but valid binary documents built by hand: a one-page PDF label and
PNG images for the proofs of delivery."""

import struct
import zlib

PAGE_WIDTH = 595  # A4 in points, room for 50 tracking numbers
PAGE_HEIGHT = 842
FONT_SIZE = 11
LEADING = 14


def _pdf_text(value):
    """Latin-1 PDF string literal body: escaped, one line, unknown chars as ?."""
    text = " ".join(str(value).split())
    text = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return text.encode("latin-1", "replace")


def label_pdf(lines):
    """Return the bytes of a one-page PDF showing ``lines`` top to bottom."""
    content = b"BT /F1 %d Tf %d TL 40 %d Td\n" % (FONT_SIZE, LEADING, PAGE_HEIGHT - 50)
    content += b"".join(b"(" + _pdf_text(line) + b") Tj T*\n" for line in lines)
    content += b"ET\n"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
        % (PAGE_WIDTH, PAGE_HEIGHT),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
        b"/Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"endstream",
    ]
    pdf = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_offset = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1)
    pdf += b"startxref\n%d\n%%%%EOF\n" % xref_offset
    return bytes(pdf)


def _png_chunk(tag, data):
    crc = zlib.crc32(tag + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)


def png(rows):
    """Return an RGB PNG; ``rows`` is a list of rows of (r, g, b) pixels."""
    height, width = len(rows), len(rows[0])
    raw = b"".join(b"\x00" + b"".join(bytes(pixel) for pixel in row) for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(raw))
        + _png_chunk(b"IEND", b"")
    )


def signature_png():
    """A 32x12 white image crossed by a dark zigzag, like a scribbled name."""
    white, ink = (255, 255, 255), (20, 30, 90)
    rows = [[white] * 32 for _ in range(12)]
    for x in range(32):
        y = 2 + (x % 8 if x % 16 < 8 else 7 - x % 8)
        rows[y][x] = ink
    return png(rows)


def photo_png():
    """A 16x12 picture of a brown parcel on a grey doorstep."""
    grey, brown = (170, 170, 170), (150, 100, 50)
    return png(
        [
            [brown if 4 <= x < 12 and 3 <= y < 10 else grey for x in range(16)]
            for y in range(12)
        ]
    )
