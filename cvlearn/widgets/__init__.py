"""Interactive widgets: thin ipywidgets wrappers over pure functions (which the tests call).

One submodule per notebook; the names used in the notebooks are re-exported here.
"""
