"""Fixtures of the notifications tests: a real SMTP server, the Twilio stand-in, a movable clock (and the campaigns' 10:00 on a Tuesday)."""

from tests.support.campaigns import morning  # noqa: F401
from tests.support.clock import frozen_clock  # noqa: F401
from tests.support.smtp import smtp_server, tls_smtp  # noqa: F401
from tests.support.twilio_standin import twilio_standin  # noqa: F401
