from pyiii.urls import without_credentials


def test_password_is_dropped_user_and_rest_kept() -> None:
    assert without_credentials("redis://:s3cret@cache:6380/2") == "redis://cache:6380/2"
    assert without_credentials("amqp://guest:guest@localhost:5672/vh?x=1") == "amqp://guest@localhost:5672/vh?x=1"
    assert without_credentials("redis://[::1]:6379") == "redis://[::1]:6379"
    assert without_credentials("rediss://u:p@[::1]:6379/0") == "rediss://u@[::1]:6379/0"


def test_urls_without_password_are_unchanged() -> None:
    assert without_credentials("redis://localhost:6379") == "redis://localhost:6379"
    assert without_credentials("amqp://guest@h/") == "amqp://guest@h/"


def test_a_url_with_an_unparsable_port_is_still_shown_without_its_password() -> None:
    assert without_credentials("redis://user:secret@host:notaport/0") == "redis://user@host:notaport/0"
