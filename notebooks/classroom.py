"""Set-up shared by the classroom notebooks: plots that ask no other host, and the equations as
the code that runs them states them (:func:`show_equation`).

A classroom may have no internet. ``hv.extension("bokeh", inline=True)`` sends BokehJS and Panel's
JavaScript from the kernel, but HoloViews' notebook renderer still links Panel's stylesheets from
its CDN into every plot it shows (holoviews 1.23 ``Renderer._render_panel`` renders the plot's
Panel layout without the inline patch that Panel's own display applies under
``pn.config.inline``). Offline those requests fail, and widget boxes such as a HoloMap's slider
lose their styling. :func:`plots_offline` also registers a Panel preprocessing hook -- the
extension point through which HoloViews itself links plot axes -- that swaps those links for the
same stylesheets inline, read from the installed Panel.
"""

import holoviews as hv
from bokeh.models import UIElement
from IPython.display import Math, display
from panel.io.notebook import patch_inline_stylesheets
from panel.viewable import Viewable

from core.model.equations import fill


def _inline_stylesheets(viewable, root, changed=None, old_models=None):
    """Panel preprocessing hook: the CDN stylesheets of the rendered models, inline instead; on a
    re-render, of the changed object's models only (as Panel's own patch under
    ``pn.config.inline``), not the whole page again."""
    scope = root
    if changed is not None and root.ref["id"] in changed._models:
        scope = changed._models[root.ref["id"]][0]
    for model in scope.select({"type": UIElement}):
        patch_inline_stylesheets(model)


def plots_offline():
    """HoloViews with the Bokeh back end, everything it shows served by the kernel."""
    hv.extension("bokeh", inline=True)
    if _inline_stylesheets not in Viewable._preprocessing_hooks:
        Viewable._preprocessing_hooks.append(_inline_stylesheets)


def show_equation(*functions, params=None):
    """Show the equations that ``functions`` of :mod:`core.model.equations` implement, as the
    dashboard's equations panel does: the forms stored on the functions themselves, with the
    parameters' symbols or, given ``params``, their values."""
    for function in functions:
        display(Math(fill(function.latex, params)))
