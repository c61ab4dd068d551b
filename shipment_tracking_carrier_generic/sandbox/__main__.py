# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Run the sandbox carrier: ``cd shipment_tracking_carrier_generic &&
python -m sandbox --port 8070`` (see the package docstring)."""

import argparse
import logging
import signal
import sys
import threading

from .server import DEFAULT_API_KEY, SandboxCarrier
from .validation import ApiError


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Sandbox carrier speaking the shipment tracking carrier protocol.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8070)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--webhook-url", help="where to push tracking events")
    parser.add_argument("--webhook-secret", help="HMAC secret signing the pushes")
    parser.add_argument(
        "--rate-limit", type=float, help="requests per second per API key"
    )
    parser.add_argument(
        "--public-url", help="base URL of tracking and proof-of-delivery links"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of random faults")
    parser.add_argument("--quiet", action="store_true", help="no request log")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s sandbox: %(message)s",
    )
    try:
        carrier = SandboxCarrier(
            host=args.host,
            port=args.port,
            api_key=args.api_key,
            webhook_url=args.webhook_url,
            webhook_secret=args.webhook_secret,
            rate_limit=args.rate_limit,
            seed=args.seed,
            public_url=args.public_url,
            quiet=args.quiet,
        )
    except ApiError as error:
        sys.exit(f"sandbox: {error.message}")
    # SIGTERM (docker stop, Popen.terminate) stops cleanly like Ctrl+C.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    carrier.start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        logging.getLogger(__name__).info("interrupted")
    finally:
        carrier.stop()


if __name__ == "__main__":
    main()
