"""Lowest layer: typed settings and logging set-up. Nothing else reads ``os.environ``."""

from config.logging import configure_logging, mask_phone
from config.settings import ConfigError, Settings, describe_settings, env_template, load_settings

__all__ = [
    "ConfigError",
    "Settings",
    "configure_logging",
    "describe_settings",
    "env_template",
    "load_settings",
    "mask_phone",
]
