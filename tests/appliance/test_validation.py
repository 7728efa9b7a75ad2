"""A form field refused by the appliance's own rule shows that rule's message, not a generic one."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from addons.mosquitto.config import MosquittoOptions
from appliance.validation import field_errors


def test_a_bad_broker_user_name_says_what_a_name_may_hold_in_both_languages() -> None:
    with pytest.raises(ValidationError) as refused:
        MosquittoOptions(users=["tổ dân phố 5!"])
    vi = field_errors(refused.value.errors(), "vi")
    en = field_errors(refused.value.errors(), "en")
    assert "chữ cái" in vi["users"] and "wardcam" in vi["users"]
    assert "letters" in en["users"]


def test_a_plain_type_error_still_gets_the_generic_field_message() -> None:
    with pytest.raises(ValidationError) as refused:
        MosquittoOptions(port="not a port")  # type: ignore[arg-type]
    assert field_errors(refused.value.errors(), "en")["port"]
