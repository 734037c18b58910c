"""Phone numbers enter Ondol in one form, E.164: however an installer, an agent or a caller writes a
Korean number, it becomes +82…; what is not a phone number is refused with the reason. The store's
SQL function (migration 0017, which converted the numbers already stored) follows the same rule."""

from __future__ import annotations

import asyncpg
import pytest

from telemetry.phone_numbers import InvalidPhoneError, e164_phone, national_phone

SAME_NUMBER = ("01011112222", "010-1111-2222", "010 1111 2222", "+821011112222", "+82 10-1111-2222",
               "+82 (0)10 1111 2222", "+82-010-1111-2222", "821011112222", "(010) 1111-2222")  # fmt: skip
OTHERS = {
    "02-123-4567": "+8221234567",  # Seoul, 3-digit exchange
    "02-1234-5678": "+82212345678",
    "031-123-4567": "+82311234567",
    "070-1234-5678": "+827012345678",
    "011-123-4567": "+82111234567",  # the old mobile prefixes
    "+1 415 555 0100": "+14155550100",  # abroad: written with + and the country code
}
NOT_NUMBERS = ("", "call me", "12345", "010-1234-567", "0101234567", "+82", "1588-1234", "00-1234-5678",
               "001-1-415-555-0100", "+0 123 4567 890", "+82 0 1234", "+1 555", "010-1234-5678 ext 9",
               "０１０-1234-5678", "010--", "+8210123456789012")  # fmt: skip


@pytest.mark.parametrize("written", SAME_NUMBER)
def test_a_korean_number_written_any_way_becomes_one_e164_number(written: str) -> None:
    assert e164_phone(written) == "+821011112222"


@pytest.mark.parametrize(("written", "expected"), OTHERS.items())
def test_landlines_old_mobiles_and_numbers_abroad_are_numbers_too(written: str, expected: str) -> None:
    assert e164_phone(written) == expected
    assert e164_phone(expected) == expected, "normalising is idempotent"


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_what_is_not_a_phone_number_is_refused_with_the_reason(text: str) -> None:
    with pytest.raises(InvalidPhoneError) as caught:
        e164_phone(text)
    assert "phone number" in str(caught.value)
    assert repr(text) in str(caught.value) or not text


def test_the_national_form_is_derived_from_the_e164_one() -> None:
    assert national_phone("+821011112222") == "01011112222"
    assert national_phone("+8221234567") == "021234567"
    assert national_phone("+14155550100") == "14155550100"


async def test_the_stores_function_agrees_with_the_edge(db: asyncpg.Connection) -> None:
    """The SQL e164_phone() (migration 0017) converted the stored numbers: the same rule, or NULL."""
    for text in (*SAME_NUMBER, *OTHERS, *OTHERS.values(), *NOT_NUMBERS):
        try:
            expected: str | None = e164_phone(text)
        except InvalidPhoneError:
            expected = None
        assert await db.fetchval("SELECT e164_phone($1)", text) == expected, text


async def test_the_store_keeps_one_writing_of_each_number(db: asyncpg.Connection) -> None:
    """Whoever writes to the table directly: numbers only in E.164, and one contact row per number
    and device however it is written, so an alert (written per contact row) cannot go out twice."""
    await db.execute("INSERT INTO devices (device_id, model, serial) VALUES ('d1', 'M', '1')")
    insert = "INSERT INTO device_contacts (device_id, name, phone, role) VALUES ('d1', $1, $2, 'owner')"
    await db.execute(insert, "A", "+821011112222")
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute(insert, "B", "01011112222")
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute(insert, "B", "+8201011112222")
    with pytest.raises(asyncpg.UniqueViolationError):
        await db.execute(insert, "B", "+821011112222")


async def test_the_stores_national_form_agrees_with_the_edge(db: asyncpg.Connection) -> None:
    """Customer keys name their phone in national form; the contacts' phone_national must say the same."""
    for e164 in ("+821011112222", "+8221234567", "+82212345678", "+827012345678", "+14155550100"):
        assert await db.fetchval("SELECT national_phone($1)", e164) == national_phone(e164), e164
