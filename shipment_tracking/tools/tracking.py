# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).


def value_changed(old, new):
    """Whether a field's value changed, as ``mail.thread._mail_track``
    compares tracked values: two empty values (False, None, an empty
    recordset) are the same."""
    return old != new and bool(old or new)
