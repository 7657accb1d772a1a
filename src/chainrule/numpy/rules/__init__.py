"""The derivative rules of `chainrule.numpy`, one module per family of functions.

`elementwise`, `reductions`, `shape`, `indexing`, `products`, `linalg` (with
`sinc_derivatives` beside `elementwise`), and `nondiff` for the functions whose derivative
is zero; `common` holds what the families share (broadcasting, batch axes, `select`).
"""
