# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

# What carriers put in their "signed by" field when nobody signed: never a
# signer's name. Compared case-folded, whitespace collapsed, without the
# punctuation around it. Connectors filter their own wording too; the core
# drops these whatever connector or import brought them.
POD_SIGNER_PLACEHOLDERS = frozenset(
    {
        "n/a",
        "na",
        "none",
        "null",
        "unknown",
        "not required",
        "not signed",
        "no signature",
        "no signature required",
        "signature not required",
        "signature not obtained",
        "signature waived",
    }
)


def clean_pod_signer(value):
    """The signer's name in ``value``, stripped; False when it is empty or a
    placeholder such as "Signature not required"."""
    if not isinstance(value, str):
        return False
    name = " ".join(value.split())
    bare = name.strip(" .-_*()[]").casefold()
    if not bare or bare in POD_SIGNER_PLACEHOLDERS:
        return False
    return name
