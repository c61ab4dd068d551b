# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

_logger = logging.getLogger(__name__)


def field_labels(records, fnames):
    """The labels of ``fnames`` on the model of ``records``, sorted, for the
    messages of the field guards."""
    return ", ".join(sorted(records._fields[fname].string for fname in fnames))


def guard_defaults(records, values, defaults, fnames):
    """Hold what create (and copy) takes from ``default_*`` context keys and
    user defaults (``ir.default``) for the guarded ``fnames`` to the model's
    ``_shipment_check_write_access``, as an explicit value would be: the ORM
    adds these after create() checked the explicit values.

    A default other than the field's own is refused for a user who may not
    set it; under sudo it is dropped instead (sudo'ed flows carry the
    caller's context, and no flow sets these fields through defaults).
    Returns ``defaults``."""
    foreign = {}
    for name in fnames:
        if name in values or name not in defaults:
            continue
        field = records._fields[name]
        own = field.default(records) if field.default else False
        if field.convert_to_cache(
            defaults[name], records, validate=False
        ) != field.convert_to_cache(own, records, validate=False):
            foreign[name] = defaults[name]
    if not foreign:
        return defaults
    if not records.env.su:
        records._shipment_check_write_access(foreign)
        return defaults
    for name in foreign:
        field = records._fields[name]
        if field.default:
            defaults[name] = field.default(records)
        else:
            del defaults[name]
    _logger.info(
        "%s: ignored context/user defaults for %s", records._name, sorted(foreign)
    )
    return defaults
