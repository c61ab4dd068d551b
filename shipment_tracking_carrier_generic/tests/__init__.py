from . import test_booking
from . import test_carrier_answers
from . import test_monitoring
from . import test_polling
from . import test_security
from . import test_status_map
from . import test_webhook
from . import test_webhook_hostile
