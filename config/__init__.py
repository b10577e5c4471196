"""Lowest layer: typed settings and logging set-up. Nothing else reads ``os.environ``."""

from config.logging import bind_request_id, configure_logging, current_request_id, mask_phone
from config.settings import ConfigError, Settings, describe_settings, env_template, load_settings

__all__ = [
    "ConfigError",
    "Settings",
    "bind_request_id",
    "configure_logging",
    "current_request_id",
    "describe_settings",
    "env_template",
    "load_settings",
    "mask_phone",
]
