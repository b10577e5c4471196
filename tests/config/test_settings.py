import pytest

from config import ConfigError, describe_settings, load_settings, mask_phone

PRODUCTION = {"THUSONG_ENV": "production", "DATABASE_URL": "postgresql:///thusong", "SECRET_KEY": "k", "WEBHOOK_TOKEN": "t", "METRICS_TOKEN": "m",
              "ANALYTICS_HASH_KEY": "a"}


def test_defaults_are_development_with_sqlite_in_instance():
    s = load_settings({})
    assert s.THUSONG_ENV == "development"
    assert s.database_url.startswith("sqlite:///") and s.database_url.endswith("instance/thusong.db")
    assert s.sms_is_simulated


@pytest.mark.parametrize(
    "env, named",
    [
        ({"SIMULATOR_ENABLED": "maybe"}, "SIMULATOR_ENABLED"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
        ({"DATABASE_URL": "thusong.db"}, "DATABASE_URL"),
        ({"AT_API_URL": "ftp://x"}, "AT_API_URL"),
        ({"SMS_RATE_PER_SECOND": "fast"}, "SMS_RATE_PER_SECOND"),
        ({"SMS_RATE_PER_SECOND": "0"}, "SMS_RATE_PER_SECOND"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"THUSONG_ENV": "prod"}, "THUSONG_ENV"),
        ({"AT_USERNAME": "sandbox"}, "AT_USERNAME/AT_API_KEY"),
        ({"THUSONG_ENV": "production", "WEBHOOK_TOKEN": "x", "METRICS_TOKEN": "m"}, "SECRET_KEY"),
        ({"THUSONG_ENV": "production", "SECRET_KEY": "x", "METRICS_TOKEN": "m"}, "WEBHOOK_TOKEN"),
        ({"THUSONG_ENV": "production", "SECRET_KEY": "x", "WEBHOOK_TOKEN": "t"}, "METRICS_TOKEN"),
        ({**PRODUCTION, "METRICS_TOKEN": " , "}, "METRICS_TOKEN"),
        ({**PRODUCTION, "ANALYTICS_HASH_KEY": ""}, "ANALYTICS_HASH_KEY"),
        ({"RETENTION_DAYS": "0"}, "RETENTION_DAYS"),
        ({"STAFF_INVITE_HOURS": "0"}, "STAFF_INVITE_HOURS"),
        ({"TRUSTED_PROXIES": "nginx"}, "TRUSTED_PROXIES"),
        ({"TRUSTED_PROXIES": "-1"}, "TRUSTED_PROXIES"),
        ({"MAX_CONTENT_LENGTH": "0"}, "MAX_CONTENT_LENGTH"),
        ({"MAX_CONTENT_LENGTH": "64k"}, "MAX_CONTENT_LENGTH"),
        ({"SMS_INBOUND_ATTEMPTS": "0"}, "SMS_INBOUND_ATTEMPTS"),
        ({"SMS_INBOUND_ATTEMPTS": "two"}, "SMS_INBOUND_ATTEMPTS"),
        ({"SMS_INBOUND_LEASE_SECONDS": "0"}, "SMS_INBOUND_LEASE_SECONDS"),
    ],
)
def test_invalid_values_fail_naming_the_variable(env, named):
    with pytest.raises(ConfigError, match=named.replace("/", ".")):
        load_settings(env)


def test_production_with_secrets_starts():
    s = load_settings(PRODUCTION)
    assert s.is_production


@pytest.mark.parametrize("value", ["true", "1", "on"])
def test_simulator_in_production_is_refused_naming_the_risk(value):
    """Issue 9.1: the simulator lets anyone read any number's SMS and text any number."""
    with pytest.raises(ConfigError, match="SIMULATOR_ENABLED") as err:
        load_settings({**PRODUCTION, "SIMULATOR_ENABLED": value})
    assert "any number" in str(err.value)


@pytest.mark.parametrize(
    "env, enabled",
    [
        ({}, True),
        ({"SIMULATOR_ENABLED": "false"}, False),
        ({"SIMULATOR_ENABLED": "auto"}, True),
        (PRODUCTION, False),
        ({**PRODUCTION, "SIMULATOR_ENABLED": "false"}, False),
        ({**PRODUCTION, "SIMULATOR_ENABLED": ""}, False),
    ],
    ids=["dev-default", "dev-off", "dev-auto", "prod-default", "prod-off", "prod-empty"],
)
def test_simulator_is_on_in_development_and_off_in_production(env, enabled):
    s = load_settings(env)
    assert s.simulator_enabled is enabled
    assert load_settings(s.as_environ()).simulator_enabled is enabled  # survives a child process


@pytest.mark.parametrize(
    "raw, tokens",
    [("a", ("a",)), ("new, old", ("new", "old")), ("a,,b,", ("a", "b")), ("", ())],
    ids=["one", "rotation", "empty-parts", "unset"],
)
def test_tokens_accept_a_comma_separated_list_for_rotation(raw, tokens):
    s = load_settings({"WEBHOOK_TOKEN": raw, "METRICS_TOKEN": raw})
    assert s.webhook_tokens == tokens and s.metrics_tokens == tokens


def test_settings_are_frozen_and_every_field_has_help():
    s = load_settings({})
    with pytest.raises(AttributeError):
        s.REDIS_URL = "redis://x"  # type: ignore[misc]
    rows = describe_settings(s)
    assert all(help_text for _n, _v, help_text in rows)
    assert {"DATABASE_URL", "REDIS_URL", "AT_API_URL", "WEBHOOK_TOKEN", "SIMULATOR_ENABLED",
            "METRICS_TOKEN", "TRUSTED_PROXIES", "MAX_CONTENT_LENGTH"} <= {n for n, _, _ in rows}


def test_describe_hides_secrets():
    rows = dict((n, v) for n, v, _ in describe_settings(load_settings({"AT_API_KEY": "sk", "AT_USERNAME": "u"})))
    assert rows["AT_API_KEY"] == "(set)"
    rows = dict((n, v) for n, v, _ in describe_settings(load_settings({"METRICS_TOKEN": "mt"})))
    assert rows["METRICS_TOKEN"] == "(set)"


@pytest.mark.parametrize(
    "text, masked",
    [
        ("+27821234567", "+2782****567"),
        ("0821234567", "082****567"),
        ("27821234567", "2782****567"),
        ("call +27 82 123 4567 now", "call +2782****567 now"),
        ("session 12345 code *134*1234#", "session 12345 code *134*1234#"),
        ("two: +27731112222,+27614445555", "two: +2773****222,+2761****555"),
    ],
)
def test_phone_numbers_are_masked(text, masked):
    assert mask_phone(text) == masked


def test_log_records_are_masked():
    import io
    import logging

    from config import configure_logging

    stream = io.StringIO()
    handler = configure_logging("INFO", stream=stream)
    try:
        logging.getLogger("test.mask").warning("sms from %s failed", "+27821234567")
    finally:
        handler.close()
        configure_logging("WARNING")
    assert stream.getvalue().rstrip().endswith("WARNING test.mask: sms from +2782****567 failed")


@pytest.mark.parametrize("env, expected", [
    ({}, False),
    ({"THUSONG_ENV": "production", "DATABASE_URL": "postgresql:///t", "SECRET_KEY": "k" * 32, "WEBHOOK_TOKEN": "t" * 32, "METRICS_TOKEN": "m" * 32,
      "ANALYTICS_HASH_KEY": "a" * 32}, True),
    ({"THUSONG_ENV": "production", "DATABASE_URL": "postgresql:///t", "SECRET_KEY": "k" * 32, "WEBHOOK_TOKEN": "t" * 32, "METRICS_TOKEN": "m" * 32,
      "ANALYTICS_HASH_KEY": "a" * 32, "BROADCAST_APPROVAL": "false"}, False),
    ({"BROADCAST_APPROVAL": "yes"}, True),
], ids=["development-off", "production-on", "production-turned-off", "development-turned-on"])
def test_the_two_person_rule_is_on_in_production_by_default(env, expected):
    assert load_settings(env).broadcast_approval is expected


@pytest.mark.parametrize("env, names", [
    ({"BROADCAST_APPROVAL": "maybe"}, "BROADCAST_APPROVAL"),
    ({"SMS_COST_PER_SEGMENT": "-1"}, "SMS_COST_PER_SEGMENT"),
    ({"BULK_SCHEDULE": "2026-12-01T08:00/2026-12-01T20:00"}, "BULK_SCHEDULE"),
    ({"BULK_SCHEDULE": "monday"}, "BULK_SCHEDULE"),
], ids=["approval-not-boolean", "negative-cost", "schedule-without-offset", "schedule-not-iso"])
def test_bad_broadcast_settings_name_the_variable(env, names):
    with pytest.raises(ConfigError, match=names):
        load_settings(env)


def test_child_environment_leaves_unset_settings_out():
    """prometheus-client treats an empty PROMETHEUS_MULTIPROC_DIR as set: worker processes
    started with it wrote metric files into the working folder."""
    environ = load_settings({}).as_environ()
    assert "PROMETHEUS_MULTIPROC_DIR" not in environ and "DATABASE_URL" not in environ
    assert environ["USSD_SERVICE_CODE"] and load_settings(environ) == load_settings({})
