"""Figures drawn from the result tables alone, in one style: seaborn paper context,
PNG at the configured dpi plus a vector PDF (with no creation date, so reruns match).

One module per figure kind (``accuracy``, ``metrics``, ``grids``, ``method_grids``,
``class_grids``, ``drift``, ``drift_vs_change``, ``sanity``), each with a ``draw_*`` entry
point that a figure rule's script calls; ``style`` holds the look and the saving,
``panels`` the drawing primitives shared by several kinds. This package imports nothing
itself, so a job loads only its figure kind."""
