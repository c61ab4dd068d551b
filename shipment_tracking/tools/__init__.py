from .guards import field_labels, guard_defaults
from .unique import create_unique
