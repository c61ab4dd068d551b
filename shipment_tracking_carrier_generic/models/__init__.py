from . import delivery_carrier
from . import ir_http
from . import shipment_tracking_status_map
from . import shipment_tracking_webhook_delivery
from . import stock_picking
