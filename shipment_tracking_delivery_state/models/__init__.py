from . import shipment_tracking_notification
from . import stock_picking
