"""Reading form values that a view expects as text.

zope.publisher turns ``name:list=...``, ``name.key:record=...``,
``name:float=...`` and a repeated ``name`` into lists, records or numbers.
A view that expects one line of text refuses all of these with a message
(the views answer 400), rather than showing ``str()`` of a list or failing
on a float.
"""

MAX_LENGTH = 1000


class BadFormValue(ValueError):
    """A form value is not what the view expects."""


def formText(form, name, default='', maxLength=MAX_LENGTH):
    """The form value ``name`` as stripped text (``default`` if absent)."""
    value = form.get(name, default)
    if not isinstance(value, str):
        raise BadFormValue('%s: give one text value, not %s'
                           % (name, describe(value)))
    if len(value) > maxLength:
        raise BadFormValue('%s: at most %i characters' % (name, maxLength))
    return value.strip()


def formInteger(form, name, default, low, high):
    """The form value ``name`` as a whole number from ``low`` to ``high``
    (``default`` if absent or empty)."""
    text = formText(form, name, '')
    if not text:
        return default
    try:
        number = int(text)
    except ValueError:
        raise BadFormValue('%s must be a whole number: %r' % (name, text))
    if not low <= number <= high:
        raise BadFormValue('%s must be between %i and %i: %i'
                           % (name, low, high, number))
    return number


def describe(value):
    if isinstance(value, (list, tuple)):
        return 'a list (was the value given twice?)'
    return 'a %s' % type(value).__name__.lower()
