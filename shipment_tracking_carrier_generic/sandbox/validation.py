# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Checks of request bodies; each failure is an ``ApiError`` naming the field."""

import math
from http import HTTPStatus

from .scenarios import SCENARIOS

MAX_PARCELS = 50
MAX_BATCH = 100
SERVICES = ("standard",)
ADDRESS_REQUIRED = ("name", "street", "city", "zip", "country_code")
ADDRESS_OPTIONAL = ("street2", "state", "email", "phone")
WEIGHT_UNITS = {"kg": 1.0, "g": 0.001, "lb": 0.45359237, "oz": 0.028349523125}
DIMENSION_UNITS = ("cm", "mm", "m", "in")


class ApiError(Exception):
    """An error answer of the protocol: ``{"error": {"code", "message"}}``."""

    def __init__(self, status, code, message, headers=None):
        super().__init__(message)
        self.status = HTTPStatus(status)
        self.code = code
        self.message = message
        self.headers = headers or {}


def invalid(message):
    return ApiError(HTTPStatus.BAD_REQUEST, "invalid_request", message)


def _object(payload, field):
    if not isinstance(payload, dict):
        raise invalid(f"{field} must be a JSON object")
    return payload


def _string(payload, key, field, required=False):
    value = payload.get(key)
    if value is None:
        if required:
            raise invalid(f"{field}.{key} is required")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise invalid(f"{field}.{key} must be a non-empty string")
    return value.strip()


def _positive(payload, key, field):
    value = payload.get(key)
    if value is None:
        raise invalid(f"{field}.{key} is required")
    number_types = (int, float)
    if isinstance(value, bool) or not isinstance(value, number_types):
        raise invalid(f"{field}.{key} must be a number")
    if not math.isfinite(value) or value <= 0:
        raise invalid(f"{field}.{key} must be greater than 0")
    return value


def _choice(payload, key, field, choices, default):
    value = payload.get(key, default)
    if value not in choices:
        raise invalid(f"{field}.{key} must be one of: {', '.join(choices)}")
    return value


def address(payload, field):
    payload = _object(payload, field)
    result = {
        key: _string(payload, key, field, required=True) for key in ADDRESS_REQUIRED
    }
    country = result["country_code"]
    if len(country) != 2 or not (country.isascii() and country.isalpha()):
        raise invalid(f"{field}.country_code must be an ISO 3166 two-letter code")
    result["country_code"] = country.upper()
    for key in ADDRESS_OPTIONAL:
        value = _string(payload, key, field)
        if value:
            result[key] = value
    return result


def parcel(payload, field):
    payload = _object(payload, field)
    result = {
        "reference": _string(payload, "reference", field) or "",
        "contents": _string(payload, "contents", field) or "",
        "dimension_unit": _choice(
            payload, "dimension_unit", field, DIMENSION_UNITS, "cm"
        ),
        "weight_unit": _choice(
            payload, "weight_unit", field, tuple(WEIGHT_UNITS), "kg"
        ),
    }
    for key in ("length", "width", "height", "weight"):
        result[key] = _positive(payload, key, field)
    result["weight_kg"] = result["weight"] * WEIGHT_UNITS[result["weight_unit"]]
    return result


def parcels(payload):
    items = payload.get("parcels")
    if items is None:
        raise invalid("parcels is required")
    if not isinstance(items, list) or not items:
        raise invalid("parcels must be a non-empty list")
    if len(items) > MAX_PARCELS:
        raise invalid(f"at most {MAX_PARCELS} parcels per shipment, got {len(items)}")
    return [parcel(item, f"parcels[{index}]") for index, item in enumerate(items)]


def rate_request(payload):
    """Normalised body of ``POST /v1/rates``: parcels required, addresses checked
    when given."""
    payload = _object(payload, "body")
    result = {"parcels": parcels(payload)}
    for key in ("ship_from", "ship_to"):
        if payload.get(key) is not None:
            result[key] = address(payload[key], key)
    result["service"] = _choice(payload, "service", "body", SERVICES, "standard")
    return result


def shipment_request(payload):
    """Normalised body of ``POST /v1/shipments``."""
    payload = _object(payload, "body")
    reference = _string(payload, "reference", "body", required=True)
    if payload.get("ship_to") is None:
        raise invalid("ship_to is required")
    result = {
        "reference": reference,
        "shipment_ref": _string(payload, "shipment_ref", "body") or "",
        "service": _choice(payload, "service", "body", SERVICES, "standard"),
        "ship_to": address(payload["ship_to"], "ship_to"),
        "ship_from": None,
        "parcels": parcels(payload),
        "scenario": None,
    }
    if payload.get("ship_from") is not None:
        result["ship_from"] = address(payload["ship_from"], "ship_from")
    if payload.get("scenario") is not None:
        result["scenario"] = _choice(
            payload, "scenario", "body", tuple(SCENARIOS), None
        )
    return result


def tracking_numbers(payload):
    """The list of ``POST /v1/tracking/batch``, duplicates dropped, order kept."""
    payload = _object(payload, "body")
    numbers = payload.get("tracking_numbers")
    if not isinstance(numbers, list) or not numbers:
        raise invalid("tracking_numbers must be a non-empty list")
    if len(numbers) > MAX_BATCH:
        raise invalid(
            f"at most {MAX_BATCH} tracking numbers per call, got {len(numbers)}"
        )
    if not all(isinstance(number, str) and number for number in numbers):
        raise invalid("tracking_numbers must hold non-empty strings")
    return list(dict.fromkeys(numbers))
