# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import re

# What carriers put in their "signed by" field when nobody signed: never a
# signer's name. Compared by ``_placeholder_key``: case-folded, punctuation
# and runs of spaces read as one space ("N/A" is "n a"). The core drops these
# whatever connector or import brought them; connectors use the same list.
POD_SIGNER_PLACEHOLDERS = frozenset(
    {
        "signature not required",
        "no signature required",
        "signature not obtained",
        "signature waived",
        "no signature",
        "not required",
        "not signed",
        "unsigned",
        "n a",
        "na",
        "none",
        "null",
        "unknown",
        "released without signature",
        "release without signature",
        "driver release",
        "driver released",
        "authority to leave",
        "left at door",
        "left at front door",
        "left at back door",
        "left at doorstep",
        "left on porch",
        "left in mailbox",
        "left in safe place",
        "left in parcel locker",
        "front door",
        "back door",
        "porch",
        "mailbox",
        "mail room",
        "mailroom",
        "safe place",
        "parcel locker",
        "contactless delivery",
        "no contact delivery",
    }
)
_SEPARATORS_RE = re.compile(r"[\W_]+")


def _placeholder_key(value):
    return " ".join(_SEPARATORS_RE.sub(" ", value.casefold()).split())


def clean_pod_signer(value):
    """The signer's name in ``value``, whitespace collapsed; False when it is
    empty or a placeholder that names nobody ("Signature not required",
    "N/A", "Left at door")."""
    if not isinstance(value, str):
        return False
    name = " ".join(value.split())
    if not name or _placeholder_key(name) in POD_SIGNER_PLACEHOLDERS:
        return False
    return name
