"""The page's sections, one module each, in the order `layout.SECTIONS` lists them.

A section module has a `TITLE`, a `build(page, number)` that declares its components under names (and wires
the events that touch only them, beside them), and may have a `wire(page)` for the events that reach into
other sections, called once every section is built; `EXPORTS` names the figures it shows that leave as
files (`export.TITLES`). Its number on the page, and in the menu of figures, is its place in the list.
"""
