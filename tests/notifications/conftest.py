"""Fixtures of the notifications tests: a real SMTP server, the Twilio stand-in, a movable clock."""

from tests.support.clock import frozen_clock  # noqa: F401
from tests.support.smtp import smtp_server, tls_smtp  # noqa: F401
from tests.support.twilio_standin import twilio_standin  # noqa: F401
