from . import test_delivery_state_glue
