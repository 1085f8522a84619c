"""The one boolean rule (higlass_server.values), for settings and query parameters alike."""

import pytest

from higlass_server.exceptions import ServiceError
from higlass_server.values import parse_bool, query_flag


@pytest.mark.parametrize("value", [True, 1, 1.0, "1", "true", " TRUE ", "yes", "on", "y", "t"])
def test_true(value):
    assert parse_bool(value) is True


@pytest.mark.parametrize("value", [False, 0, "0", "false", "No", "off", "n", "f", "", "  "])
def test_false_and_empty(value):
    assert parse_bool(value) is False


@pytest.mark.parametrize("value", ["maybe", 2, None, [], "truthy"])
def test_anything_else_is_refused_with_the_name(value):
    with pytest.raises(ValueError, match="cum must be a boolean"):
        parse_bool(value, "cum")


def test_query_flag():
    assert query_flag({}, "cum") is False and query_flag({}, "cum", default=True) is True
    assert query_flag({"cum": "1"}, "cum") is True and query_flag({"cum": "0"}, "cum") is False
    assert query_flag({"cum": ""}, "cum") is True  # a bare ?cum: the flag is present
    with pytest.raises(ServiceError) as info:
        query_flag({"r": "maybe"}, "r")
    assert info.value.status == 400 and str(info.value).startswith("r must be a boolean")
