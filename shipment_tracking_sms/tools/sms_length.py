# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""How many SMS segments a text takes (GSM 03.38 or UCS-2)."""

from collections import namedtuple

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Characters of the extension table: an escape plus the character, two septets.
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

SmsLength = namedtuple("SmsLength", "encoding length segments")


def sms_length(text):
    """Return the encoding ('gsm7' or 'ucs2'), the length in that encoding's
    units (septets or UTF-16 code units) and the number of segments: 160/153
    characters per segment in GSM-7, 70/67 in UCS-2."""
    text = text or ""
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text):
        length = sum(2 if char in GSM7_EXTENSION else 1 for char in text)
        single, multi, encoding = 160, 153, "gsm7"
    else:
        length = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "ucs2"
    if length == 0:
        segments = 0
    elif length <= single:
        segments = 1
    else:
        segments = -(-length // multi)
    return SmsLength(encoding, length, segments)
