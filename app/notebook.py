"""In a notebook, the embedded dashboard's updates reach the page in order and ask no other host.

Panel sends each change of a shown object over that output's comm (``panel.io.notebook.push``):
it serialises the change into a patch at once -- which marks the new models as known to the page
-- and sends it. While a notebook runs cell after cell (Run All), the kernel reads the page's
``comm_open`` only after the last queued cell, so the comm is still closed; Panel 1.9 then retries
each patch on its own timer, and once the comm opens the retries go out in an order of their own.
The page rejects a patch that refers to a model defined in a patch it has not received yet
(BokehJS: "reference ... isn't known") and keeps showing what it had: the selector said "Fig. S1"
and the sliders had S1's values while the kernel ran Fig. 2.

:func:`route_pushes` routes Panel's pushes through :func:`push`, which keeps the patches made
while a comm is closed in a queue per comm and sends them in order once it is open.

Under ``pn.extension(inline=True)`` Panel inlines its stylesheets when it first shows an object and
when it re-renders a changed layout (``Viewable._preprocess``), but an update that sets a model's
``stylesheets`` -- a pane's ``_update`` sends every property of ``_get_properties`` -- links them
from Panel's CDN again (panel 1.9). Offline those requests fail: KaTeX's formulas showed twice and
the description lost its Markdown style after notebook 10 changed scenario. :func:`push` therefore
replaces, in every patch, the CDN stylesheets of changed and new models by the same files inline,
read from the installed Panel: one new copy per file and patch. (Not one per page: the page drops a
model as soon as nothing it shows refers to it -- app/main.py has it recompute after every rebuild
-- while the kernel would still count a cached copy as sent, and a later patch that named it would
be rejected as "reference ... isn't known".)
"""

from __future__ import annotations

import importlib
from collections import deque

import panel as pn
import panel.io.model
import panel.io.notebook
from bokeh.document.events import ModelChangedEvent
from bokeh.model.util import collect_models
from bokeh.models import ImportedStyleSheet, UIElement
from panel.io.notebook import replace_inline_css

PANEL_PUSH = panel.io.notebook.push
MODULES = ("panel.io.notebook", "panel.reactive", "panel.io.datamodel", "panel.pane.base",
           "panel.pane.plot")
"""Panel's modules that hold ``push`` under their own name (``from .io.notebook import push``)."""
RETRY_S = 0.1
"""How often a queue checks whether its comm has opened."""

_queues = {}  # comm id: deque of patches made while that comm was closed, oldest first


def push(doc, comm, binary=True, msg=None):
    """``panel.io.notebook.push``, except that patches wait in order while the comm is closed
    and, under ``pn.config.inline``, carry no links to Panel's CDN."""
    if msg is None:
        if pn.config.inline:
            keep_stylesheets_inline(doc)
        msg = panel.io.model.diff(doc, binary=binary)
        if msg is None:
            return
    queue = _queues.get(comm.id)
    if comm._comm and not queue:
        panel.io.notebook.send(comm, msg)
        return
    if queue is None:
        queue = _queues[comm.id] = deque()
        _flush_later(comm)
    queue.append(msg)


def _flush_later(comm):
    from tornado.ioloop import IOLoop

    IOLoop.current().call_later(RETRY_S, _flush, comm)


def _flush(comm):
    if not comm._comm:
        _flush_later(comm)
        return
    queue = _queues.pop(comm.id)
    while queue:
        panel.io.notebook.send(comm, queue.popleft())


def keep_stylesheets_inline(doc):
    """Replace Panel's CDN stylesheets by inline copies in the changes ``doc`` holds for the page:
    in every changed ``stylesheets`` and in every model the page does not know yet."""
    copies = {}  # CDN URL: its inline copy, for this patch only (see the module docstring)

    def inline(sheet):
        if not isinstance(sheet, ImportedStyleSheet):
            return sheet
        if sheet.url not in copies:
            copies[sheet.url] = replace_inline_css(sheet)
        return copies[sheet.url]

    known = doc.models.synced_references
    for event in list(doc.callbacks._held_events):
        if not isinstance(event, ModelChangedEvent):
            continue
        changed = [event.model] if event.attr == "stylesheets" else []
        new = [model for model in collect_models(event.new) if model not in known]
        for model in changed + new:
            if isinstance(model, UIElement):
                stylesheets = [inline(sheet) for sheet in model.stylesheets]
                if stylesheets != model.stylesheets:
                    model.stylesheets = stylesheets  # held: replaces the change that linked them
        if event.attr == "stylesheets":  # sent as it is if the document is not held
            event.new = [inline(sheet) for sheet in event.new]


def route_pushes():
    """Route every Panel push through :func:`push` (calling it again changes nothing)."""
    for name in MODULES:
        module = importlib.import_module(name)
        if getattr(module, "push", None) is PANEL_PUSH:
            module.push = push
