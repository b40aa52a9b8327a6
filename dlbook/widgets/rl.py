"""Chapter "Reinforcement learning": grid-world pictures and the value-iteration explorer.

Never imports torch; ipywidgets is imported only when an explorer is built.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

import dlbook.numpy as dnp
from dlbook.checks import check_fraction
from dlbook.widgets._core import Explorer, explorer

__all__ = ["BRIDGE_LAYOUT", "draw_gridworld", "gridworld_explorer"]

# A short path along a row of pits, and a longer, safer path around a wall: which one is best
# depends on how slippery the ground is and how far ahead the agent looks.
BRIDGE_LAYOUT = ["......", ".#..#.", "S....G", "XXXXXX"]

_ARROWS = {0: (0, -0.3), 1: (0.3, 0), 2: (0, 0.3), 3: (-0.3, 0)}  # (dx, dy) in image axes


def draw_gridworld(
    ax: plt.Axes,
    env: dnp.GridWorld,
    values: np.ndarray | None = None,
    actions: np.ndarray | None = None,
    *,
    title: str | None = None,
    path: Sequence[int] | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
) -> plt.Axes:
    """Draw a `GridWorld` on `ax`: the state values (S,) as colours (walls and cliff grey), an arrow
    for each state's action in `actions` (S,) of ints, the letters S, G, X, C, and an optional
    `path` of states as a line. Returns `ax`."""
    rows, cols = env.shape
    shown = np.zeros(env.n_states) if values is None else np.array(values, dtype=float)
    cliff = np.array([env.layout[i][j] == "C" for i, j in env.cells])
    shown[cliff] = np.nan  # cliff cells are never occupied: draw them grey, like walls
    grid = env.to_grid(shown)
    cmap = plt.get_cmap("RdYlGn").with_extremes(bad="0.35")
    image = ax.imshow(
        np.ma.masked_invalid(grid),
        cmap=cmap if values is not None else plt.get_cmap("Greys").copy(),
        vmin=vmin if values is not None else 0,
        vmax=vmax if values is not None else 4,
    )
    for s, (i, j) in enumerate(env.cells):
        kind = env.layout[i][j]
        if kind in "SGXC":
            ax.text(j - 0.42, i - 0.42, kind, ha="left", va="top", fontsize=8, weight="bold")
        if actions is not None and not env.terminal[s] and kind != "C":
            dx, dy = _ARROWS[int(actions[s])]
            ax.annotate(
                "",
                xy=(j + dx, i + dy),
                xytext=(j - dx, i - dy),
                arrowprops={"arrowstyle": "->", "lw": 1.2, "color": "k"},
            )
    if path is not None and len(path) > 1:
        ij = np.array([env.cells[s] for s in path])
        ax.plot(ij[:, 1], ij[:, 0], color="tab:blue", lw=2.5, alpha=0.7)
    ax.set_xticks(range(cols))
    ax.set_yticks(range(rows))
    ax.set(xlabel="column", ylabel="row")
    if title:
        ax.set_title(title, fontsize=9)
    ax._dlbook_image = image  # noqa: SLF001 (for a colour bar)
    return ax


def _solve(layout: Sequence[str], gamma: float, slip: float, step_reward: float) -> tuple:
    env = dnp.GridWorld(layout, slip=slip, step_reward=step_reward)
    V, greedy, sweeps = dnp.value_iteration(env.P, env.R, gamma, 1e-8, return_sweeps=True)
    return env, V, greedy, sweeps


def _draw_solution(ax: plt.Axes, layout: Sequence[str], gamma: float, slip: float, step: float):
    env, V, greedy, sweeps = _solve(layout, gamma, slip, step)
    title = f"gamma = {gamma:g}, slip = {slip:g}\nV*(start) = {V[env.start]:.2f}, {sweeps} sweeps"
    shown = V.copy()  # terminal cells: colour them by the reward for entering them
    for s, (i, j) in enumerate(env.cells):
        shown[s] = {"G": 1.0, "X": -1.0}.get(env.layout[i][j], shown[s])
    return draw_gridworld(ax, env, shown, greedy, title=title, vmin=-1, vmax=1)


def gridworld_explorer(
    layout: Sequence[str] = BRIDGE_LAYOUT,
    *,
    gamma: float = 0.9,
    slip: float = 0.2,
    step_reward: float = -0.04,
) -> Explorer:
    """Value iteration on a `GridWorld` as the discount and the slip probability change.

    Sliders set gamma, the slip probability and the reward per step; each frame shows V*
    (colour, from -1 red to +1 green; the goal G and the pits X are coloured by the reward
    for entering them) and the greedy policy (arrows), and the title gives
    V*(start) and the number of sweeps value iteration needed. The static figure shows six
    settings: gamma in {0.5, 0.9, 0.99} by slip in {0, 0.3}.
    """
    layout = list(layout)
    gamma = check_fraction("gamma", gamma)
    slip = check_fraction("slip", slip, high_open=False)
    fig, axes = plt.subplots(2, 3, figsize=(13, 6.2))
    for row, s in zip(axes, (0.0, 0.3), strict=True):
        for ax, g in zip(row, (0.5, 0.9, 0.99), strict=True):
            _draw_solution(ax, layout, g, s, step_reward)
    fig.colorbar(axes[0, 0]._dlbook_image, ax=axes, shrink=0.8, label="V*(s)")  # noqa: SLF001
    fig.suptitle(
        "V* and the greedy policy: on slippery ground (bottom row) it goes round the pits (X)"
    )

    import ipywidgets as widgets

    g_slider = widgets.FloatSlider(value=gamma, min=0.0, max=0.99, step=0.01, description="gamma")
    s_slider = widgets.FloatSlider(value=slip, min=0.0, max=0.8, step=0.05, description="slip")
    r_slider = widgets.FloatSlider(
        value=step_reward, min=-1.0, max=0.1, step=0.01, description="step reward"
    )

    def draw(ax: plt.Axes) -> None:
        _draw_solution(ax, layout, g_slider.value, s_slider.value, r_slider.value)
        ax.figure.colorbar(ax._dlbook_image, ax=ax, label="V*(s)")  # noqa: SLF001

    return explorer(
        fig,
        [[g_slider, s_slider, r_slider]],
        draw,
        figsize=(6, 4.2),
        note="value iteration on a grid world as gamma, the slip probability and the step "
        "reward change",
    )
