"""The order of the examples in the gallery, and the style of their figures.

Both are referenced by name from ``sphinx_gallery_conf`` in ``docs/conf.py``.
"""

import matplotlib

#: Examples in reading order; an example not listed comes after these, by file name.
EXAMPLES = [
    "quickstart.py",
    "plot_mtl_vs_single_task.py",
    "partial_labels.py",
    "plot_grid_search.py",
    "plot_task_tools.py",
    "plot_prediction_intervals.py",
    "plot_weighting_strategies.py",
    "plot_architectures.py",
]


class GalleryOrder:
    """Sort key of sphinx-gallery's ``within_subsection_order``."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        if filename in EXAMPLES:
            return (0, EXAMPLES.index(filename), filename)
        return (1, 0, filename)

    def __repr__(self):
        return "GalleryOrder()"


def figure_style(gallery_conf, fname):
    """Before each example: figures drawn at the size they are shown, labels legible.

    The article column is about 720 px wide at a 1024 px window: a figure of
    7 inches at 100 dpi is shown unscaled there, so 11-point labels stay about
    15 px tall; ``image_srcset`` adds a 2x image for sharp screens.
    """
    matplotlib.rcParams.update(
        {
            "figure.figsize": (7.0, 4.0),
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "font.size": 11,
            "axes.titlesize": 12,
            "axes.labelsize": 11,
            "xtick.labelsize": 10,
            "ytick.labelsize": 10,
            "legend.fontsize": 10,
            "axes.grid": True,
            "grid.alpha": 0.3,
        }
    )
