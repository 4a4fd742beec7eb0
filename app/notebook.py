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
while a comm is closed in a queue per comm and, once it is open, sends them as **one** patch: their
events in the order they were made, each serialised when it was made (so a model is defined with
the values it had then, and the later events replay what followed). Sent one by one (~80 patches
in notebook 10's Run All, most of them plot data), each was applied and drawn on its own: on a
busy machine the page still showed Fig. S1 a minute after the notebook had finished (no patch
rejected), and now and then it rejected one ("reference ... isn't known" under load; one patch
leaves no moment between two in which the page lets go of replaced models, ``main.py``'s
``RELEASE_REPLACED_MODELS``, that a later one names).

Every patch leaves as **text**: the three comm messages of a Bokeh message (header, metadata,
content), its arrays base64-encoded in the content. Panel would send each array as two comm
messages of its own (a header, then the bytes), and a Run All queues over a thousand arrays; a
Jupyter server drops the messages beyond its ``iopub_msg_rate_limit`` (by default 1000 a second
over 3 s, the cells' outputs included), and a page that loses one message of a patch loses step
with the stream (BokehJS: "Expected text fragment but received binary fragment") and the patch
with it. HoloViews pushes its plots' updates with Panel's ``push`` under a name of its own, so
that one is routed here too.

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

import panel as pn
import panel.io.model
import panel.io.notebook
from bokeh.document.events import ModelChangedEvent
from bokeh.model.util import collect_models
from bokeh.models import ImportedStyleSheet, UIElement
from bokeh.protocol.messages.patch_doc import patch_doc
from panel.io.notebook import replace_inline_css

PANEL_PUSH = panel.io.notebook.push
MODULES = ("panel.io.notebook", "panel.reactive", "panel.io.datamodel", "panel.pane.base",
           "panel.pane.plot", "holoviews.plotting.plot")
"""The modules that hold Panel's ``push`` under their own name (``from .io.notebook import push``)."""
RETRY_S = 0.1
"""How often a queue checks whether its comm has opened."""

_queues = {}  # comm id: list of patches made while that comm was closed, oldest first


def push(doc, comm, binary=False, msg=None):
    """``panel.io.notebook.push``, except that patches wait in order while the comm is closed
    (and then leave as one), leave as text (``binary`` is ignored; see the module docstring) and,
    under ``pn.config.inline``, carry no links to Panel's CDN."""
    if msg is None:
        if pn.config.inline:
            keep_stylesheets_inline(doc)
        msg = panel.io.model.diff(doc, binary=False)
        if msg is None:
            return
    queue = _queues.get(comm.id)
    if comm._comm and queue is None:
        panel.io.notebook.send(comm, msg)
        return
    if queue is None:
        queue = _queues[comm.id] = []
        _flush_later(comm)
    queue.append(msg)


def _flush_later(comm):
    from tornado.ioloop import IOLoop

    IOLoop.current().call_later(RETRY_S, _flush, comm)


def _flush(comm):
    if not comm._comm:
        _flush_later(comm)
        return
    panel.io.notebook.send(comm, merged(_queues.pop(comm.id)))


def merged(patches):
    """One PATCH-DOC message with the events of ``patches`` (oldest first) in their order, and
    all their binary buffers (which the events name by id)."""
    message = patch_doc(patch_doc.create_header(), dict(patches[0].metadata),
                        {"events": [event for patch in patches
                                    for event in patch.content["events"]]})
    for patch in patches:
        message.add_buffers(*patch.buffers)
    return message


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
