"""Patch n' Pack (NaViT): clips of every shape packed into sequences of a fixed token budget, the
block-diagonal attention mask that keeps each clip to itself, and what packing saves against the two
older ways: one clip a sequence padded to the budget, and a square centre crop of every clip.

The budget defaults to 2,048 tokens: the most a clip at the page's working size has (16 frames of
128 x 128 cut into 2 x 8 x 8 tubelets), so every clip the page makes fits one sequence. A clip larger
than the budget is not split (a clip's tokens must see each other): it gets a sequence of its own, longer
than the budget, and is marked as over it (NaViT would resize it to fit).
"""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from ..assets import SAMPLES
from ..patches import DEFAULT_PATCH, PatchGrid, fit_size, padded_grid, square_crop_vs_native
from .common import base_layout, for_phones
from .style import AMOEBA, FILM, GRID, INK, MUTED, NOISE, PATCH, rgba

BUDGET = 2048  # tokens a sequence holds
STILL = "still image"
# one colour per clip, in the order given: the visitor's clip (first) is the highlighted pink
CLIP_COLOURS = [PATCH, "#5a8dff", "#1fa59b", "#c3d93b", "#b48cff", "#ff7a59", "#4fd1e0", "#e0c04f"]
PADDING = rgba(NOISE, 0.35)  # padding slots in the strips and in the mask
MASK_CELLS = 128  # the drawn mask is at most this many cells a side
DESKTOP_STRIP_PX, PHONE_STRIP_PX = 800, 310  # about how wide the strips are drawn


def clip_colour(index: int) -> str:
    return CLIP_COLOURS[index % len(CLIP_COLOURS)]


def shown_name(name: str, most: int = 24) -> str:
    """A clip's name as drawn: an uploaded file's long name is cut short, its end kept (the extension)."""
    return name if len(name) <= most else name[:most - 9] + "…" + name[-8:]


# --- the clips ----------------------------------------------------------------------------------------

def sample_grids(patch=DEFAULT_PATCH, *, frames: int = 16, max_side: int = 128) -> list[tuple[str, PatchGrid]]:
    """The bundled wide, tall and square samples at the working size (`frames` frames, longer side at most
    `max_side`), and a still image (one frame, repeated to fill a tubelet) the size of the wide one."""
    _, ph, pw = patch
    sizes = {name: fit_size(*SAMPLES[name][2:4], max_side, ph, pw) for name in ("wide", "tall", "square")}
    clips = [(name, padded_grid(frames, *size, patch)) for name, size in sizes.items()]
    return clips + [(STILL, padded_grid(1, *sizes["wide"], patch))]


# --- the numbers --------------------------------------------------------------------------------------

def first_fit_decreasing(lengths, budget: int = BUDGET) -> list[list[int]]:
    """Pack items of `lengths` tokens into sequences of at most `budget`: longest first, each into the first
    sequence with room. An item longer than the budget gets a sequence of its own. -> each sequence's
    item indices, in the order they went in."""
    sequences, room = [], []
    for item in sorted(range(len(lengths)), key=lambda n: (-lengths[n], n)):
        length = lengths[item]
        fits = [n for n, left in enumerate(room) if length <= left]
        if fits:
            sequences[fits[0]].append(item)
            room[fits[0]] -= length
        else:
            sequences.append([item])
            room.append(max(0, budget - length))  # over the budget: full
    return sequences


def mask_cells(lengths, length: int, cell: int) -> np.ndarray:
    """The attention mask of clips of `lengths` tokens in a sequence `length` long (the rest padding), one
    cell per `cell` x `cell` token pairs, as categories: clip number k where the cell's middle pair is both
    of clip k, len(lengths) where it touches padding, len(lengths) + 1 where attention is masked.
    -> (ceil(length / cell),) * 2 uint8."""
    owner = np.full(length, len(lengths), np.int64)  # padding
    owner[:sum(lengths)] = np.repeat(np.arange(len(lengths)), lengths)
    middle = owner[np.minimum(np.arange(math.ceil(length / cell)) * cell + cell // 2, length - 1)]
    rows, cols = middle[:, None], middle[None]
    cells = np.where(rows == cols, rows, len(lengths) + 1)
    cells[(rows == len(lengths)) | (cols == len(lengths))] = len(lengths)
    return cells.astype(np.uint8)


def packing_numbers(clips: list[tuple[str, PatchGrid]], budget: int = BUDGET) -> dict:
    """Patch n' Pack in numbers, for clips (name, tubelet grid) at a sequence budget of `budget` tokens.

    - packed: whole clips packed first-fit decreasing into sequences of `budget` slots;
    - bucketed: one clip a sequence, padded to the budget (each shape its own batch, fixed sequence length);
    - square crop: every clip cut to the largest centred square of its frame (then all squares can be
      resized to one size); what falls outside the square is lost, counted over the pixels the model is fed
      (the grid's frames: a still image's one frame repeated to fill a tubelet counts as pt frames).
    A sequence's length is the budget, or a clip's own length where that is over the budget (no padding).
    """
    if not clips:
        raise ValueError("packing needs at least one clip")
    if budget < 1:
        raise ValueError(f"the budget must be a positive number of tokens, got {budget}")
    lengths = [grid.tokens for _, grid in clips]
    packed = first_fit_decreasing(lengths, budget)
    where = {item: n for n, sequence in enumerate(packed) for item in sequence}
    rows, lost_total, pixels_total = [], 0, 0
    for n, (name, grid) in enumerate(clips):
        kept = square_crop_vs_native(grid.height, grid.width, grid.frames, grid.patch)["area_kept"]
        pixels = grid.frames * grid.height * grid.width
        lost = round(pixels * (1 - kept))
        lost_total, pixels_total = lost_total + lost, pixels_total + pixels
        rows.append(dict(name=name, frames=grid.frames, height=grid.height, width=grid.width,
                         grid=list(grid.shape), tokens=lengths[n], sequence=where[n],
                         over_budget=lengths[n] > budget, crop_share_lost=1 - kept, crop_pixels_lost=lost))
    sequences = []
    for items in packed:
        used = sum(lengths[item] for item in items)
        sequences.append(dict(clips=items, names=[clips[item][0] for item in items], tokens=used,
                              length=max(budget, used), padding=max(budget, used) - used))
    tokens = sum(lengths)

    def waste(count: int, slots: int) -> dict:
        return dict(sequences=count, slots=slots, padding=slots - tokens, padding_share=(slots - tokens) / slots)

    return dict(budget=budget, tokens=tokens, clips=rows, sequences=sequences,
                packed=waste(len(packed), sum(sequence["length"] for sequence in sequences)),
                bucketed=waste(len(clips), sum(max(budget, length) for length in lengths)),
                square_crop=dict(pixels=pixels_total, pixels_lost=lost_total, share_lost=lost_total / pixels_total))


# --- the figure ---------------------------------------------------------------------------------------

def _discrete_scale(colours: list[str]) -> list:
    """A colour scale in which value k (with zmin -0.5, zmax len - 0.5) is colours[k], with no blending."""
    count = len(colours)
    scale = []
    for k, colour in enumerate(colours):
        scale += [[k / count, colour], [(k + 1) / count, colour]]
    return scale


def _strips(fig: go.Figure, numbers: dict) -> tuple[list[dict], list[float]]:
    """One horizontal strip per sequence: each clip's tokens a bar in its colour, the padding grey.
    The dashed line is the budget. Returns the clips' names on their bars (annotations) and each bar's share
    of the strip's width."""
    budget = numbers["budget"]
    pad_y, pad_base, pad_x, names, shares = [], [], [], [], []
    for row, sequence in enumerate(numbers["sequences"]):
        start = 0
        for item in sequence["clips"]:
            facts = numbers["clips"][item]
            name = shown_name(facts["name"])
            over = " · <b>over the budget</b>: a sequence of its own" if facts["over_budget"] else ""
            fig.add_trace(go.Bar(
                y=[row], x=[facts["tokens"]], base=[start], orientation="h", name=name,
                marker=dict(color=clip_colour(item), line=dict(color=AMOEBA if over else FILM, width=2 if over else 1)),
                hovertemplate=(f"<b>{name}</b>: {facts['frames']}×{facts['height']}×{facts['width']} px → "
                               f"{facts['tokens']:,} tokens, tokens {start:,}–{start + facts['tokens'] - 1:,}"
                               f"{over}<extra>sequence {row + 1}</extra>")))
            names.append(dict(text=name, x=start + facts["tokens"] / 2, y=row, xref="x", yref="y",
                              showarrow=False, font=dict(size=11, color=FILM)))
            shares.append(facts["tokens"])
            start += facts["tokens"]
        if sequence["padding"]:
            pad_y.append(row), pad_base.append(start), pad_x.append(sequence["padding"])
    fig.add_trace(go.Bar(y=pad_y, x=pad_x, base=pad_base, orientation="h", name="padding",
                         marker=dict(color=PADDING, line=dict(color=FILM, width=1),
                                     pattern=dict(shape="/", fgcolor=GRID)),
                         hovertemplate="padding: %{x:,} empty slots<extra></extra>"))
    end = max(budget, max(sequence["length"] for sequence in numbers["sequences"])) * 1.02
    fig.add_shape(type="line", x0=budget, x1=budget, y0=0, y1=1, xref="x", yref="y domain",
                  line=dict(color=INK, width=1.5, dash="dash"))
    count = len(numbers["sequences"])
    fig.update_layout(xaxis=dict(range=[0, end], gridcolor=GRID, color=MUTED, zeroline=False, tickformat=",",
                                 title=dict(text="token slot in the sequence", font=dict(size=11, color=MUTED))),
                      yaxis=dict(tickvals=list(range(count)), ticktext=[f"seq {n + 1}" for n in range(count)],
                                 autorange="reversed", color=MUTED, showgrid=False, zeroline=False),
                      barmode="overlay", bargap=0.3)
    return names, [tokens / end for tokens in shares]


def fits(text: str, pixels: float) -> bool:
    """Whether `text` at 11 px fits a bar `pixels` wide."""
    return pixels >= 7 * len(text) + 6


def _mask(fig: go.Figure, numbers: dict, sequence: int) -> tuple[list[dict], int]:
    """The attention mask of one packed sequence as a heatmap on axes 2, the clip names on their blocks.
    Returns the name labels (annotations) and the tokens a cell spans."""
    chosen = numbers["sequences"][sequence]
    lengths = [numbers["clips"][item]["tokens"] for item in chosen["clips"]]
    length = chosen["length"]
    cell = max(16, math.ceil(length / MASK_CELLS))
    cells = mask_cells(lengths, length, cell)
    colours = [clip_colour(item) for item in chosen["clips"]] + [PADDING, FILM]
    fig.add_trace(go.Heatmap(z=cells, x0=(cell - 1) / 2, dx=cell, y0=(cell - 1) / 2, dy=cell, xaxis="x2", yaxis="y2",
                             colorscale=_discrete_scale(colours), zmin=-0.5, zmax=len(colours) - 0.5, showscale=False,
                             name="attention mask",
                             hovertemplate="query token ≈%{y:,.0f}, key token ≈%{x:,.0f}<extra></extra>"))
    labels, start = [], 0
    for item, tokens in zip(chosen["clips"], lengths):
        middle = start + tokens / 2 - 0.5
        small = tokens < 0.15 * length  # too small a block to hold its name: the name points at it
        labels.append(dict(text=shown_name(numbers["clips"][item]["name"]), x=middle, y=middle, xref="x2", yref="y2",
                           showarrow=small, arrowcolor=INK, arrowwidth=1, ax=-36 if small else 0,
                           ay=-28 if small else 0, font=dict(size=11, color=INK if small else FILM),
                           bgcolor=rgba(FILM, 0.7) if small else None))
        start += tokens
    fig.update_layout(xaxis2=dict(range=[-0.5, length - 0.5], visible=False, anchor="y2"),
                      yaxis2=dict(range=[length - 0.5, -0.5], visible=False, scaleanchor="x2", constrain="domain",
                                  constraintoward="top", anchor="x2"))
    return labels, cell


def _summary(numbers: dict) -> str:
    """The numbers as lines of text, short enough for a phone."""
    budget, packed, bucketed, crop = numbers["budget"], numbers["packed"], numbers["bucketed"], numbers["square_crop"]
    lines = [f"<b>At {budget:,} tokens a sequence</b>", f"{numbers['tokens']:,} tokens of clips",
             f"packed: {packed['sequences']} sequences, <b>{packed['padding']:,}</b> padding "
             f"({packed['padding_share']:.0%})",
             f"one clip a sequence: {bucketed['sequences']}, <b>{bucketed['padding']:,}</b> padding "
             f"({bucketed['padding_share']:.0%})",
             f"square centre crop: <b>{crop['share_lost']:.0%}</b> of all pixels lost",
             "clip · tokens · lost to the crop",
             *[f"<span style='color:{clip_colour(n)}'>■</span> {shown_name(clip['name'])} · {clip['tokens']:,} · "
               f"{clip['crop_share_lost']:.0%}" + (" · over budget" if clip["over_budget"] else "")
               for n, clip in enumerate(numbers["clips"])]]
    return "<br>".join(lines)


def packing(clips: list[tuple[str, PatchGrid]], budget: int = BUDGET, *, sequence: int | None = None,
            height: int = 660) -> go.Figure:
    """Patch n' Pack on one page: clips (name, tubelet grid; the first is the visitor's, in pink) packed
    whole into sequences of `budget` tokens, one strip per sequence with the padding grey; the attention
    mask of sequence number `sequence` (0-based; the visitor's clip's one by default), one cell per 16 or
    more token pairs, each clip's block in its colour and the masked pairs dark; and the numbers of
    `packing_numbers` as text (also in layout.meta.numbers)."""
    numbers = packing_numbers(clips, budget)
    sequence = numbers["clips"][0]["sequence"] if sequence is None else sequence
    if not 0 <= sequence < len(numbers["sequences"]):
        raise IndexError(f"sequence {sequence} outside 0..{len(numbers['sequences']) - 1}")
    count = len(numbers["sequences"])
    fig = go.Figure()
    names, shares = _strips(fig, numbers)
    for name, share in zip(names, shares):  # a name too long for its bar is left to the hover
        name["visible"] = fits(name["text"], share * DESKTOP_STRIP_PX)
    labels, cell = _mask(fig, numbers, sequence)
    strip_top, strip_bottom = 0.93, 0.62
    title = (f"Patch n' Pack: {len(clips)} clips in {count} sequence{'s' if count > 1 else ''} of "
             f"{budget:,} tokens; attention stays inside each clip")
    over = " · outlined: over it, alone" if any(clip["over_budget"] for clip in numbers["clips"]) else ""
    captions = [dict(text=f"① whole clips packed, longest first · dashed: the budget{over}", x=0,
                     y=strip_top + 0.01),
                dict(text=f"② who attends to whom in sequence {sequence + 1} (a cell: {cell}×{cell} token pairs; "
                          "dark: masked)", x=0, y=0.48)]
    summary = dict(text=_summary(numbers), x=0.5, y=0.45, align="left", font=dict(size=12, color=INK))
    notes = [dict(**caption, xref="paper", yref="paper", xanchor="left", yanchor="bottom", showarrow=False,
                  font=dict(size=12, color=INK)) for caption in captions]
    notes.append(dict(**summary, xref="paper", yref="paper", xanchor="left", yanchor="top", showarrow=False))
    fig.update_layout(**base_layout(height, title, margin=dict(l=52, r=12, t=44, b=8)),
                      annotations=notes + labels + names)
    fig.update_layout(xaxis=dict(domain=[0, 1], anchor="y"), yaxis=dict(domain=[strip_bottom, strip_top], anchor="x"),
                      xaxis2=dict(domain=[0, 0.46]), yaxis2=dict(domain=[0, 0.46]),
                      meta=dict(kind="packing", budget=budget, sequence=sequence, cell=cell,
                                numbers=_rounded(numbers)))
    # a phone stacks the strips, the mask and the numbers, each given its height in pixels
    top_px, strip_px, mask_px, text_px = 100, 40 * count + 20, 330, 17 * (6 + len(clips)) + 12
    phone = top_px + strip_px + 80 + mask_px + 24 + text_px
    strip_high = 1 - top_px / phone
    strip_low = strip_high - strip_px / phone
    mask_top = strip_low - 80 / phone
    mask_low = mask_top - mask_px / phone
    overrides = {"xaxis2.domain": [0, 1], "yaxis2.domain": [mask_low, mask_top],
                 "yaxis.domain": [strip_low, strip_high], "margin.l": 44, "margin.t": 0,
                 "title.text": title.replace(" of ", "<br>of ").replace("; ", ";<br>"), "title.y": 1 - 22 / phone,
                 "annotations.0.y": strip_high + 0.005, "annotations.0.text": "① whole clips packed, longest first",
                 "annotations.1.y": mask_top + 0.005,
                 "annotations.1.text": f"② attention in sequence {sequence + 1} (dark: masked)",
                 "annotations.2.x": 0, "annotations.2.y": mask_low - 24 / phone, "annotations.2.font.size": 11}
    for n, (name, share) in enumerate(zip(names, shares), start=len(notes) + len(labels)):
        overrides[f"annotations.{n}.visible"] = fits(name["text"], share * PHONE_STRIP_PX)
    return for_phones(fig, height=phone, **overrides)


def _rounded(numbers: dict) -> dict:
    """The numbers with shares rounded to 4 places, for the figure's meta."""
    if isinstance(numbers, dict):
        return {key: _rounded(value) for key, value in numbers.items()}
    if isinstance(numbers, list):
        return [_rounded(value) for value in numbers]
    return round(numbers, 4) if isinstance(numbers, float) else numbers
