from . import res_company
from . import res_config_settings
from . import res_partner
from . import shipment_tracking_notification
from . import sms_sms
from . import sms_template
from . import stock_picking
