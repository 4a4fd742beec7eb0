"""The served page asks no other host for anything: a classroom server may have no internet.

Panel serves BokehJS, its own JavaScript and CSS, KaTeX and the Fast components itself (``panel
serve`` defaults to server resources). The one request to another host is the web font of Panel's
Fast design: :class:`panel.theme.fast.Fast` lists ``fonts.googleapis.com/css?family=Open+Sans``
among its resources, and every page of a Fast template links it (panel 1.9: ``Fast._resources``
in ``panel/theme/fast.py``, read by ``BasicTemplate.resolve_resources`` and ``Resources.css_files``;
the templates have no parameter that drops it). Offline it fails on every page load, and what it
styled (the plots' axis and legend text, a few labels) falls back to a generic sans-serif anyway.
So the page uses :class:`Fast` below, the same design without that resource, with
:data:`SYSTEM_FONTS` as the template's ``font`` parameter.

In a notebook (``pn.extension(inline=True)``), Panel inlines its stylesheets when it first shows a
pane, but an update of a shown pane sends them again as links to its CDN (panel 1.9:
``HTMLBasePane._update`` sends every property of ``_get_properties``, stylesheets included,
without the inline patch of ``Viewable._render_mimebundle``). Offline, KaTeX's stylesheet is then
missing and each formula of the equations panel shows twice after a parameter change; hence
:class:`LaTeX`.
"""

from __future__ import annotations

import panel as pn
from bokeh.models import ImportedStyleSheet
from panel.io.notebook import replace_inline_css
from panel.theme.fast import Fast as PanelFast

SYSTEM_FONTS = ("system-ui, -apple-system, Segoe UI, Roboto, Helvetica Neue, Arial, Noto Sans, "
                "Liberation Sans, sans-serif")
"""Each platform's own interface font (unquoted names: the value goes into CSS and Bokeh's theme
as it is)."""


class Fast(PanelFast):
    """Panel's Fast design without its web font (Open Sans from Google's font service).

    Named ``Fast`` on purpose: Panel finds a design's bundled files (``js/fast_design.js``) under
    the lower-cased class name, ``static/extensions/panel/bundled/fast/``.
    """

    _resources = {kind: resources for kind, resources in PanelFast._resources.items()
                  if kind != "font"}


class LaTeX(pn.pane.LaTeX):
    """Panel's LaTeX pane whose updates keep Panel's stylesheets inline under ``pn.config.inline``
    (served pages link them from the server and are unaffected: only CDN links are replaced)."""

    def _get_properties(self, doc):
        properties = super()._get_properties(doc)
        if pn.config.inline and "stylesheets" in properties:
            properties["stylesheets"] = [
                replace_inline_css(sheet) if isinstance(sheet, ImportedStyleSheet) else sheet
                for sheet in properties["stylesheets"]]
        return properties
