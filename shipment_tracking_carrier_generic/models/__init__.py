from . import delivery_carrier
from . import shipment_tracking_status_map
from . import stock_picking
