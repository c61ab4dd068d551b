from . import delivery_carrier
from . import mail_mail
from . import mail_message
from . import res_company
from . import res_config_settings
from . import stock_picking
from . import stock_quant_package
