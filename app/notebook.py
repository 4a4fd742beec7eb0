"""In a notebook, the embedded dashboard's updates reach the page in the order they were made.

Panel sends each change of a shown object over that output's comm (``panel.io.notebook.push``):
it serialises the change into a patch at once -- which marks the new models as known to the page
-- and sends it. While a notebook runs cell after cell (Run All), the kernel reads the page's
``comm_open`` only after the last queued cell, so the comm is still closed; Panel 1.9 then retries
each patch on its own timer, and once the comm opens the retries go out in an order of their own
(measured after notebook 10's Run All: the last seven of 94 patches first, the first ones late).
The page rejects a patch that refers to a model defined in a patch it has not received yet
(BokehJS: "reference ... isn't known") and keeps showing what it had: the selector said "Fig. S1"
and the sliders had S1's values while the kernel ran Fig. 2.

:func:`send_in_order` routes Panel's pushes through :func:`push`, which keeps the patches made
while a comm is closed in a queue per comm and sends them in order once it is open.
"""

from __future__ import annotations

import importlib
from collections import deque

import panel.io.model
import panel.io.notebook

PANEL_PUSH = panel.io.notebook.push
MODULES = ("panel.io.notebook", "panel.reactive", "panel.io.datamodel", "panel.pane.base",
           "panel.pane.plot")
"""Panel's modules that hold ``push`` under their own name (``from .io.notebook import push``)."""
RETRY_S = 0.1
"""How often a queue checks whether its comm has opened."""

_queues = {}  # comm id: deque of patches made while that comm was closed, oldest first


def push(doc, comm, binary=True, msg=None):
    """``panel.io.notebook.push``, except that patches wait in order while the comm is closed."""
    queue = _queues.get(comm.id)
    if comm._comm and not queue:
        PANEL_PUSH(doc, comm, binary, msg)
        return
    if msg is None:
        msg = panel.io.model.diff(doc, binary=binary)
        if msg is None:
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


def send_in_order():
    """Route every Panel push through :func:`push` (calling it again changes nothing)."""
    for name in MODULES:
        module = importlib.import_module(name)
        if getattr(module, "push", None) is PANEL_PUSH:
            module.push = push
