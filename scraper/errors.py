"""Exceptions raised by the scraper."""


class ScraperError(Exception):
    """Raised when the scraper cannot go on: missing credentials, a failed API call.

    Parameters
    ----------
    message : str
        What failed and what to do next. It never contains the API key or secret.
    status : int or None, default=None
        The HTTP status of the response that failed, when there was one.
    code : int or None, default=None
        The Flickr API error code (for example 100, invalid API key), when Flickr
        returned one.
    """

    def __init__(self, message, *, status=None, code=None):
        super().__init__(message)
        self.status = status
        self.code = code


class CredentialsError(ScraperError):
    """Raised when the Flickr API key or secret is missing or unreadable."""


class _ArgumentErrorParts:
    """The parts of an argument error, kept so a caller can reword the message.

    Attributes
    ----------
    argument : str or None
        The Python parameter name, such as ``"max_nb_img"``.
    expected : str or None
        What the parameter accepts, in words.
    value : object
        The value received.
    """

    def __init__(self, message, *, argument=None, expected=None, value=None):
        super().__init__(message)
        self.argument = argument
        self.expected = expected
        self.value = value


class InvalidArgumentError(_ArgumentErrorParts, ValueError):
    """Raised for an argument with a value out of range; a ``ValueError``."""


class InvalidArgumentTypeError(_ArgumentErrorParts, TypeError):
    """Raised for an argument of the wrong type; a ``TypeError``."""
