"""The one error type the explainer raises for things a person can fix: a bad clip, a bad setting."""


class ExplainerError(Exception):
    """A problem with the input, told in words a person understands."""


class ClipError(ExplainerError):
    """The clip cannot be read, or is outside the limits the explainer decodes."""
