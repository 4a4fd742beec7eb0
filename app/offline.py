"""The served page asks no other host for anything: a classroom server may have no internet.

Panel serves BokehJS, its own JavaScript and CSS, KaTeX and the Fast components itself (``panel
serve`` defaults to server resources). The one request to another host is the web font of Panel's
Fast design: :class:`panel.theme.fast.Fast` lists ``fonts.googleapis.com/css?family=Open+Sans``
among its resources, and every page of a Fast template links it (panel 1.9: ``Fast._resources`` in
``panel/theme/fast.py``, read by ``BasicTemplate.resolve_resources`` and ``Resources.css_files``;
the templates have no parameter that drops it). Offline it fails on every page load, and what it
styled (the plots' axis and legend text, a few labels) falls back to a generic sans-serif anyway.
So the page uses :class:`Fast` below, the same design without that resource, with
:data:`SYSTEM_FONTS` as the template's ``font`` parameter.

In a notebook, ``notebook.py`` keeps the dashboard's updates free of links to Panel's CDN.
"""

from __future__ import annotations

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

