"""Three claims, tested on your clip: the handler (no Gradio here).

`test_claims` runs `explainer.claims` on the clip on show with a time budget per fit and reports progress;
for a bundled sample at the shipped budget and seed it answers at once from `assets/claims/`, worked out
ahead, with a step budget rather than a time budget so that they hold on any machine, by
`python -m explainer claims assets/sample_wide.webm --steps 300 --save assets/claims/wide`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import claims, figures
from ..assets import ASSETS
from ..figures.claims import next_patch_changes, next_patch_claim
from ..patches import DEFAULT_PATCH
from . import common
from .common import chips, fact
from .show_fit import FIT_SIDE, fit_settings
from .show_run import prior_model
from .views import sample_on_show

CLAIM_SECONDS = 30       # each fit's budget: three fits run in turn, then what they make
CLAIM_MAX_SECONDS = 60
SHIPPED = ASSETS / "claims"
SHIPPED_SEED = 0


@dataclass
class ClaimsShown:
    """The claims as the page shows them: a verdict in words, five figures (JSON; the next patch's two are
    None for an answer without it), the numbers."""

    verdict: str
    crop: str
    flicker: str
    changes: str
    summary: dict
    next_patch: str | None = None
    next_changes: str | None = None


def claim_settings(seconds, seed) -> tuple[float, int]:
    """Each fit's budget and the seed, checked (the claims' fits take turns with other fits)."""
    return fit_settings(seconds, seed, 5, CLAIM_MAX_SECONDS)


# the next patch's DiT calls on the page's clip: one run all at once, then one for each slice after the given
NEXT_PATCH_CALLS = claims.SAMPLING_STEPS * (1 + claims.FRAMES // DEFAULT_PATCH[0] - claims.GIVEN_SLICES)
NEXT_PATCH_SECONDS = 50  # those calls on a small CPU, most of them on short sequences


def budget_words(seconds: float, square: bool = False) -> str:
    """What a run of the three claims will take, said before it starts."""
    fits = 2 if square else 3
    return (f"{fits} fits of {seconds:.0f} s each, then four short runs and the next patch's "
            f"{NEXT_PATCH_CALLS} DiT calls: about {fits * seconds + 15 + NEXT_PATCH_SECONDS:.0f} s in all, "
            "in the fitting slot (one visitor's fits at a time).")


def crop_words(crop: dict) -> str:
    """The crop claim in plain words, from its own numbers."""
    if crop.get("note"):
        return "Your clip is square: its centre square is the whole frame, so a crop loses nothing here."
    native, cropped = crop["native"], crop["cropped"]
    gap = native["sides_psnr_db"] - cropped["sides_psnr_db"]
    numbers = (f"sides {native['sides_psnr_db']:.1f} dB from the copy that saw whole frames, "
               f"{cropped['sides_psnr_db']:.1f} dB from the one that saw only centre squares; centre "
               f"{native['centre_psnr_db']:.1f} vs {cropped['centre_psnr_db']:.1f} dB")
    if gap >= 1.0:
        return (f"Cropping lost the sides: the copy trained on centre squares made them {gap:.1f} dB worse "
                f"({numbers}). What the crop cut away, it never learned.")
    if gap <= -1.0:
        return (f"On this clip the claim does not show: the copy trained on centre squares made the sides "
                f"{-gap:.1f} dB better ({numbers}).")
    return (f"On this clip the two copies make the sides about equally well ({numbers}): the sides are easy "
            "to guess from the centre, or a fit this short learned little of either.")


def flicker_words(frames: dict) -> str:
    """The flicker claim in plain words, from its own numbers."""
    clip, together, apart = frames["clip_change"], frames["spacetime_change"], frames["frames_apart_change"]
    numbers = (f"{apart:.1f} levels from one frame to the next with frames apart, {together:.1f} with "
               f"spacetime attention, {clip:.1f} in your clip itself")
    if clip < 1.0 and apart < 1.0:
        return f"Your clip barely changes from frame to frame, so there is nothing to flicker ({numbers})."
    if apart > together * 1.1:
        return (f"Frames denoised apart flicker: {numbers}. Each time slice made its own guess; the "
                "spacetime copy, which saw the frames around it, changed less.")
    if together > apart * 1.1:
        return (f"On this clip the frames-apart copy changed less than the spacetime one ({numbers}): "
                "no flicker shows.")
    return f"On this clip both change about as much ({numbers}): no flicker shows."


def border_jump(changes: dict) -> float:
    """How much more a frame changes into the next slice than within one (levels): a seam's size."""
    return changes["across_slices"] - (changes["within_slices"] or 0.0)


def seam_words(next_patch: dict) -> str:
    """Whether the clip written one slice after another jumps at the slice borders more than the clip made
    all at once, from the numbers: the claim shows, does not (the other way round), or does not (even)."""
    ways = {name: next_patch[name] for name in ("all_at_once", "one_after_another", "clip")}
    numbers = "; ".join(f"{words} {way['across_slices']:.1f} across vs {way['within_slices'] or 0:.1f} within"
                        for words, way in zip(("all at once", "one after another", "your clip"), ways.values()))
    numbers = f"change from one frame to the next, levels: {numbers}"
    together, apart = border_jump(ways["all_at_once"]), border_jump(ways["one_after_another"])
    if max(max(way["per_frame_change"]) for way in ways.values()) < 1.0:
        return f"Neither way nor your clip changes from frame to frame, so no seam can show ({numbers})."
    if apart - together >= max(0.5, 0.1 * abs(together)):
        return (f"Written one slice after another, the clip jumps at the slice borders ({numbers}): each slice "
                "saw only the slices before it and could not change them, where all at once every slice saw "
                "every other at every step.")
    if together - apart >= max(0.5, 0.1 * abs(apart)):
        return (f"On this clip the claim does not show: one after another jumped less at the slice borders than "
                f"all at once ({numbers}).")
    return f"On this clip the claim does not show: both ways jump about as much at the slice borders ({numbers})."


def drift(psnr: list[float], pt: int) -> tuple[float, float]:
    """The mean PSNR of the first generated slice's frames and of the last's."""
    return sum(psnr[:pt]) / len(psnr[:pt]), sum(psnr[-pt:]) / len(psnr[-pt:])


def drift_words(next_patch: dict) -> str:
    """How far each way drifted from your clip over the generated frames (PSNR, first slice to last)."""
    pt = next_patch["frames_per_slice"]
    (a_first, a_last), (o_first, o_last) = (drift(next_patch[name]["psnr_db"], pt)
                                            for name in ("all_at_once", "one_after_another"))
    numbers = (f"PSNR against your clip from the first generated slice to the last: {a_first:.1f} to {a_last:.1f} "
               f"dB all at once, {o_first:.1f} to {o_last:.1f} dB one after another")
    gap = (o_first - o_last) - (a_first - a_last)
    if gap >= 1.0:
        return f"One after another drifted further from your clip ({numbers})."
    if gap <= -1.0:
        return f"All at once drifted further from your clip ({numbers})."
    return f"Both drifted about as far from your clip ({numbers})."


def cost_words(next_patch: dict) -> str:
    """What each way cost: DiT calls, the slices each call saw, seconds."""
    together, apart = next_patch["all_at_once"], next_patch["one_after_another"]
    return (f"One after another took {apart['dit_calls']} DiT calls, each seeing {apart['slices_per_call'][0]} "
            f"to {apart['slices_per_call'][1]} slices, in {apart['seconds']:.0f} s; all at once took "
            f"{together['dit_calls']} calls of {together['slices_per_call'][1]} slices in {together['seconds']:.0f} s.")


def next_patch_words(next_patch: dict | None) -> str:
    """The next-patch claim in plain words, from its own numbers."""
    if next_patch is None:
        return "Not measured in this answer: change the seconds or the seed to measure it live."
    if next_patch.get("note"):
        return "Your clip is one time slice: nothing comes after the given slice to generate, one way or the other."
    return f"{seam_words(next_patch)} {drift_words(next_patch)} {cost_words(next_patch)}"


def claims_facts(summary: dict) -> str:
    crop, frames = summary["crop"], summary["frames"]
    facts = [fact("working size", "{2} × {1}".format(*summary["working"]), f"{summary['working'][0]} frames")]
    if not crop.get("note"):
        gap = crop["native"]["sides_psnr_db"] - crop["cropped"]["sides_psnr_db"]
        facts.append(fact("sides: whole frames vs crops", f"{gap:+.1f} dB", "what cropping cost the sides", "fr-key"))
    apart, together = frames["frames_apart_change"], frames["spacetime_change"]
    facts.append(fact("frame-to-frame change", f"{apart:.1f} vs {together:.1f}",
                      f"frames apart vs spacetime; your clip {frames['clip_change']:.1f}", "fr-key"))
    next_patch = summary.get("next_patch") or {}
    if "all_at_once" in next_patch:
        facts.append(fact("jump at slice borders", "{:+.1f} vs {:+.1f}".format(
            border_jump(next_patch["one_after_another"]), border_jump(next_patch["all_at_once"])),
            f"one after another vs all at once; your clip {border_jump(next_patch['clip']):+.1f}", "fr-key"))
    budget = "fits of {:.0f} s".format(summary["seconds"]) if summary.get("seconds") else f"{summary['steps']} steps"
    facts.append(fact("budget", budget, f"{summary['wall_seconds']:.0f} s to work out"))
    return chips(facts)


def shown_claims(result: claims.Claims, labels: list[str] | None = None) -> ClaimsShown:
    summary, reels = result.summary, result.reels
    verdict = (claims_facts(summary) + f"<p class='fr-claim'><b>Crop vs native.</b> {crop_words(summary['crop'])}</p>"
               f"<p class='fr-claim'><b>Frames apart vs spacetime.</b> {flicker_words(summary['frames'])}</p>"
               f"<p class='fr-claim'><b>All at once vs the next patch.</b> "
               f"{next_patch_words(summary.get('next_patch'))}</p>")
    made = "all_at_once" in (summary.get("next_patch") or {}) and "all_at_once" in reels
    return ClaimsShown(
        verdict,
        figures.to_json(figures.crop_claim(reels["clip"], reels["native"], reels["cropped"], summary["crop"], labels)),
        figures.to_json(figures.flicker_claim(reels["clip"], reels["spacetime"], reels["frames_apart"],
                                              summary["frames"], labels)),
        figures.to_json(figures.frame_changes(summary["frames"])),
        summary,
        figures.to_json(next_patch_claim(reels["clip"], reels, summary["next_patch"])) if made else None,
        figures.to_json(next_patch_changes(summary["next_patch"])) if made else None)


def test_claims(path: str, seconds: float, seed: int, window: dict | None = None):
    """The claims on the clip at `path` (the frames `window` names, `common.window_of`): yields (fraction,
    text) as it goes, then one `ClaimsShown`. A bundled sample's first window at the shipped budget and seed
    is answered at once from the shipped answers; any other is measured now (three fits of `seconds` each).
    Closing the generator stops the fit under way."""
    window = window or {}
    name = sample_on_show(path) if not window.get("start_frame") else None
    if name is not None and seconds == CLAIM_SECONDS and seed == SHIPPED_SEED and (SHIPPED / f"{name}.json").exists():
        answer = shown_claims(claims.load_claims(SHIPPED / name))
        answer.verdict += (f"<p class='fr-claim-note'>Worked out ahead for the {name} sample with "
                           f"{answer.summary['steps']} training steps per copy, more than {seconds:.0f} s buys "
                           "on a small CPU. Change the seconds or the seed to measure it live.</p>")
        yield answer
        return
    model = prior_model()
    yield 0.0, f"Reading the clip at {FIT_SIDE} px"
    clip = common.load_clip(path, frames=claims.FRAMES, max_side=FIT_SIDE, patch=model.config.patch, **window)
    for update in claims.claim_steps(clip.frames, model, seconds=seconds, seed=seed):
        if isinstance(update, claims.Claims):
            update.summary["clip"] = Path(path).name
            yield shown_claims(update, [f"{t:.2f}s" for t in clip.times_s])
        else:
            yield update
