"""Diagrams used as gallery thumbnails for the examples that draw no figure.

An example picks one with ``# sphinx_gallery_thumbnail_path =
"_static/thumbnails/<name>.png"``; ``docs/conf.py`` draws them before the
gallery is built (build output, not committed).
"""

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch


def _box(ax, x, y, width, height, text, color):
    ax.add_patch(
        FancyBboxPatch(
            (x - width / 2, y - height / 2),
            width,
            height,
            boxstyle="round,pad=0.02",
            facecolor=color,
            edgecolor="#333333",
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=17)


def _arrow(ax, start, end):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, color="#333333"))


def draw_network(path):
    """Features, one shared body, one head per task: the model of the quickstart."""
    fig, ax = plt.subplots(figsize=(6.4, 4.48))
    fig.subplots_adjust(left=0, right=1, bottom=0, top=1)
    ax.set(xlim=(0, 10), ylim=(0, 7), aspect="equal")
    ax.axis("off")
    _box(ax, 1.45, 3.5, 2.4, 1.5, "features\nX", "#e8e8e8")
    _box(ax, 4.6, 3.5, 2.4, 2.4, "shared\nbody", "#9ecae1")
    heads = [("income", 5.8), ("marital\nstatus", 3.5), ("hours\nper week", 1.2)]
    for name, y in heads:
        _box(ax, 8.3, y, 2.6, 1.5, name, "#fdd0a2")
        _arrow(ax, (5.85, 3.5), (6.95, y))
    _arrow(ax, (2.7, 3.5), (3.35, 3.5))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def draw_partial_labels(path):
    """Rows by tasks, most income labels missing: the data of the partial-labels example."""
    fig, ax = plt.subplots(figsize=(6.4, 4.48))
    tasks = ["income", "marital status", "hours"]
    n_rows = 10
    for row in range(n_rows):
        for column, _ in enumerate(tasks):
            labelled = column > 0 or row == 3
            ax.add_patch(
                plt.Rectangle(
                    (column * 2 + 0.1, n_rows - row - 0.9),
                    1.8,
                    0.8,
                    facecolor="#31a354" if labelled else "#f0f0f0",
                    edgecolor="#999999",
                )
            )
    for column, task in enumerate(tasks):
        ax.text(column * 2 + 1, n_rows + 0.4, task, ha="center", fontsize=17)
    ax.set(xlim=(0, 6), ylim=(0, n_rows + 1.2))
    ax.axis("off")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def draw_thumbnails(directory):
    directory.mkdir(parents=True, exist_ok=True)
    draw_network(directory / "quickstart.png")
    draw_partial_labels(directory / "partial_labels.png")
