# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Is a phone number one we may text? Parsing and checks with phonenumbers."""

from collections import namedtuple

import phonenumbers

SMS_NUMBER_TYPES = frozenset(
    {
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }
)

# e164: the number to text, or None; error: why not ('invalid', 'not_mobile').
NumberCheck = namedtuple("NumberCheck", "e164 error")


def check_sms_number(number, country_code=None):
    """Parse ``number`` (national numbers in ``country_code``'s plan) and
    return its E.164 form when it is valid and able to receive SMS."""
    try:
        parsed = phonenumbers.parse(number, (country_code or "").upper() or None)
    except phonenumbers.NumberParseException:
        return NumberCheck(None, "invalid")
    if not phonenumbers.is_valid_number(parsed):
        return NumberCheck(None, "invalid")
    if phonenumbers.number_type(parsed) not in SMS_NUMBER_TYPES:
        return NumberCheck(None, "not_mobile")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return NumberCheck(e164, None)
