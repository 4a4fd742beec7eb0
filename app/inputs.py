"""What a student types or reads in the sidebar: strict parsing of text fields, plain-text messages.

Browser number fields parse on the client and forgive too much ("3.7" became 37, "1e400" became
1400, "-5-10-3" lost its sign, "abc" became NaN), so the dashboard's seed, layer sizes and learning
rates are plain text fields parsed here, on the server, where every refusal can say which value
was refused and why. Messages are shown as plain text (:func:`plain_text_html`): an error may quote
what a student typed or what a shared file contains, and neither may become markup or script.
"""

from __future__ import annotations

import html
import math
import re

import panel as pn

MAX_QUOTED = 60
"""Characters of a refused value quoted back in a message."""

_WHOLE_NUMBER = re.compile(r"\s*\d+\s*\Z")
_LAYER_SIZES = re.compile(r"\s*\d+(?:\s*[-,\s]\s*\d+)*\s*\Z")


def quoted(text):
    """``text`` as a short repr for a message (long input is cut, not echoed whole)."""
    text = str(text)
    if len(text) > MAX_QUOTED:
        text = text[:MAX_QUOTED] + "…"
    return repr(text)


def parse_seed(text, maximum):
    """A seed typed as a whole number from 0 to ``maximum``.

    Raises
    ------
    ValueError
        Naming the text and the allowed range: signs, decimals, exponents and words are refused,
        not reinterpreted.
    """
    if not isinstance(text, str) or not _WHOLE_NUMBER.match(text):
        raise ValueError(f"seed {quoted(text)}: type a whole number from 0 to {maximum}")
    value = int(text)
    if value > maximum:
        raise ValueError(f"seed {quoted(text)} is too large: the largest seed is {maximum}")
    return value


def parse_layer_sizes(text):
    """``"30-50-10"`` (or commas or spaces between the sizes) -> ``[30, 50, 10]``; empty -> ``None``.

    Raises
    ------
    ValueError
        For anything but positive whole numbers with one separator between two of them (a leading
        "-" is a sign, not a separator, so "-5-10-3" is refused rather than read as 5-10-3).
    """
    if not isinstance(text, str):
        raise ValueError(f"layer sizes {quoted(text)}: write whole numbers separated by '-', "
                         "e.g. 30-50-10")
    if not text.strip():
        return None
    if not _LAYER_SIZES.match(text):
        raise ValueError(f"layer sizes {quoted(text)}: write whole numbers >= 1 separated by '-', "
                         "e.g. 30-50-10 (no signs, decimals or empty sizes)")
    sizes = [int(part) for part in re.split(r"[-,\s]+", text.strip())]
    if 0 in sizes:
        raise ValueError(f"layer sizes {quoted(text)}: every layer needs at least one neuron")
    return sizes


def parse_rate(text, label):
    """A learning rate typed as a finite number >= 0 (``label`` names the field in messages)."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ValueError(f"{label} = {quoted(text)} is not a number; type a learning rate "
                         ">= 0, e.g. 0.01") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{label} = {quoted(text)}: a learning rate must be a finite number "
                         ">= 0")
    return value


def format_number(value):
    """How a number is shown in a text field: short, and parsed back to the same float."""
    return repr(float(value)) if not float(value).is_integer() else f"{value:g}"


def plain_text_html(text):
    """``text`` escaped for an HTML pane: shown as typed, never interpreted as markup."""
    return html.escape(str(text)).replace("\n", "<br>")


class StrictField:
    """A text field whose value is applied only when it parses; a refused entry is reverted.

    Parameters
    ----------
    label : str
    text : str
        Initial text (a value that parses).
    apply : callable
        Called with the text; parses and applies it, raising ``ValueError`` to refuse it.
    refuse : callable
        Called with the ``ValueError`` of a refused entry (e.g. to show its message).
    **widget_options
        Passed on to :class:`panel.widgets.TextInput`.
    """

    def __init__(self, label, text, apply, refuse, **widget_options):
        self.widget = pn.widgets.TextInput(label=label, value=text, **widget_options)
        self._good, self._apply, self._refuse = text, apply, refuse
        self._reverting = False
        self.widget.param.watch(self._entered, "value")

    def show(self, text):
        """Display ``text`` (a value that was applied elsewhere) without applying it again."""
        self._good = text
        self._set_quietly(text)

    def _entered(self, event):
        if self._reverting:
            return
        try:
            self._apply(event.new)
        except ValueError as error:
            self._set_quietly(self._good)
            self._refuse(error)
            return
        self._good = event.new

    def _set_quietly(self, text):
        self._reverting = True
        try:
            self.widget.value = text
        finally:
            self._reverting = False
