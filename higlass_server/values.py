"""Reading typed values from text (settings, query parameters, JSON bodies). No Django here.

The one boolean rule: JSON ``true``/``false``, the numbers 1/0, and the words
``true/false, 1/0, yes/no, on/off, t/f, y/n`` in any case. The empty text means the value was
given without one: ``?cum`` or ``?cum=`` switch the option on, as a bare flag does; an environment
variable set to "" counts as unset (settings read it before calling this).
"""

TRUE_WORDS = frozenset({"1", "true", "yes", "on", "y", "t", ""})
FALSE_WORDS = frozenset({"0", "false", "no", "off", "n", "f"})


def parse_bool(value):
    """``value`` as a bool; ValueError naming the accepted spellings otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in TRUE_WORDS:
            return True
        if text in FALSE_WORDS:
            return False
    raise ValueError(f"expected a boolean (true/false, 1/0, yes/no, on/off), got {value!r}")
