from . import stock_picking_update_shipment
