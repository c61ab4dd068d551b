from .unique import create_unique
