from .guards import field_labels, guard_defaults
from .pod import POD_SIGNER_PLACEHOLDERS, clean_pod_signer
from .tracking import value_changed
from .unique import create_unique, create_unique_each
