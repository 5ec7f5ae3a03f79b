"""Contact normalisation: E.164 phones, normalised emails."""

import pytest
from marshmallow import ValidationError

from shop.accounts.contact import normalize_email, normalize_phone


def test_phone_numbers_become_e164():
    assert normalize_phone("+1 (415) 555-0123") == "+14155550123"
    assert normalize_phone("020 7183 8750", "GB") == "+442071838750"


@pytest.mark.parametrize("bad", ["12", "+1", "phone", "+1 415 555 01234567", ""])
def test_bad_phone_numbers_are_refused(bad):
    with pytest.raises(ValidationError):
        normalize_phone(bad)


def test_emails_are_validated_and_lower_cased():
    assert normalize_email("Ann.Lee@Example.COM") == "ann.lee@example.com"
    for bad in ("no-at-sign", "a@", "@b.com", "a b@c.com"):
        with pytest.raises(ValidationError):
            normalize_email(bad)

