from . import test_sms_length
from . import test_shipment_sms
from . import test_sms_containment
from . import test_sms_access
from . import test_sms_i18n
from . import test_notification_queries
from . import test_sms_core_parity
