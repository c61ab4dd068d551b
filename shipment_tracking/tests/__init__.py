from . import test_access
from . import test_dispatch
from . import test_notification
from . import test_performance
from . import test_shipment_details
from . import test_tracking_events
from . import test_monitoring
