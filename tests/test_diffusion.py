"""The diffusion process: schedules, q(x_t | x_0) and the samplers, with diffusers as the oracle."""
import numpy as np
import pytest
import torch

from explainer import diffusion
from explainer.dit import build_dit

try:
    from diffusers import DDIMScheduler, DDPMScheduler
except ImportError as error:  # the rest of the suite runs without it
    DDIMScheduler = DDPMScheduler = None
    MISSING = f"diffusers is not importable ({error}); it is only the test oracle"
needs_diffusers = pytest.mark.skipif(DDIMScheduler is None, reason=globals().get("MISSING", ""))

ORACLE = dict(num_train_timesteps=1000, beta_start=1e-4, beta_end=0.02, clip_sample=False,
              timestep_spacing="trailing", prediction_type="epsilon")
SHAPE = (2, 2, 8, 8, 3)  # a batch of two small clips (B, T, H, W, C)
NOISE = diffusion.Start.noise(SHAPE)  # a run from pure noise of that shape


def fixed_eps(x, t):
    """A made-up noise predictor that depends on both x_t and t: the same function drives both sides."""
    scale = (t.float() / 1000).reshape(-1, *[1] * (x.dim() - 1))
    return 0.7 * torch.tanh(x) * scale + 0.2 * torch.sin(3 * x)


def a_clip(seed=1):
    return torch.rand(SHAPE, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@needs_diffusers
@pytest.mark.parametrize("name, beta_schedule", [("linear", "linear"), ("cosine", "squaredcos_cap_v2")])
def test_schedules_match_diffusers(name, beta_schedule):
    oracle = DDIMScheduler(**{**ORACLE, "beta_schedule": beta_schedule})
    ours = diffusion.get_schedule(name)
    assert torch.allclose(ours.alphas_cumprod.float(), oracle.alphas_cumprod, atol=1e-6)


@needs_diffusers
def test_add_noise_matches_diffusers():
    oracle = DDIMScheduler(**ORACLE, beta_schedule="linear", set_alpha_to_one=True)
    x0, noise, t = a_clip(), torch.randn(SHAPE), torch.tensor([3, 870])
    expected = oracle.add_noise(x0, noise, t)
    assert torch.allclose(diffusion.add_noise(diffusion.get_schedule("linear"), x0, noise, t), expected, atol=1e-5)


@needs_diffusers
def test_ddim_trajectory_matches_diffusers():
    oracle = DDIMScheduler(**ORACLE, beta_schedule="linear", set_alpha_to_one=True)
    oracle.set_timesteps(50)
    steps = list(diffusion.ddim(fixed_eps, diffusion.get_schedule("linear"), NOISE, steps=50, seed=3,
                                predicts="eps"))
    x = torch.randn(SHAPE, generator=torch.Generator().manual_seed(3))  # the same starting noise
    assert [s.t for s in steps] == oracle.timesteps.tolist()
    for step, t in zip(steps, oracle.timesteps):
        out = oracle.step(fixed_eps(x, t.repeat(SHAPE[0])), t, x)
        assert torch.allclose(step.x_t, x, atol=1e-4)
        assert torch.allclose(step.x0_hat, out.pred_original_sample, atol=1e-4)
        x = out.prev_sample
    assert torch.allclose(steps[-1].x_next, x, atol=1e-4)


@needs_diffusers
def test_ddpm_trajectory_matches_diffusers_with_the_same_generator():
    oracle = DDPMScheduler(**ORACLE, beta_schedule="linear")
    oracle.set_timesteps(20)
    steps = list(diffusion.ddpm(fixed_eps, diffusion.get_schedule("linear"), NOISE, steps=20, seed=4,
                                predicts="eps"))
    generator = torch.Generator().manual_seed(4)
    x = torch.randn(SHAPE, generator=generator)
    for step, t in zip(steps, oracle.timesteps):
        x = oracle.step(fixed_eps(x, t.repeat(SHAPE[0])), t, x, generator=generator).prev_sample
        assert torch.allclose(step.x_next, x, atol=1e-4)


def test_x0_and_eps_predictors_walk_the_same_trajectory():
    schedule = diffusion.get_schedule("cosine")

    def fixed_x0(x, t):  # the clean clip that fixed_eps implies
        alpha_bar = diffusion.per_sample(schedule.alpha_bar(t), x)
        return diffusion.to_x0(x, fixed_eps(x, t), alpha_bar)

    by_eps = diffusion.generate(fixed_eps, schedule, NOISE, steps=20, predicts="eps")
    by_x0 = diffusion.generate(fixed_x0, schedule, NOISE, steps=20)
    assert torch.allclose(by_eps, by_x0, atol=1e-4)


@pytest.mark.parametrize("sampler", list(diffusion.SAMPLERS))
def test_a_model_that_knows_the_clip_lands_on_it(sampler):
    clip = a_clip()
    finished = diffusion.generate(lambda x, t: clip, diffusion.get_schedule("linear"), NOISE, sampler=sampler,
                                steps=10)
    assert torch.allclose(finished, clip, atol=1e-4)


def test_every_step_reports_t_x_t_and_x0_hat():
    steps = list(diffusion.ddim(fixed_eps, diffusion.get_schedule("linear"), NOISE, steps=10, predicts="eps"))
    assert [s.t for s in steps] == list(range(999, 0, -100))  # trailing: from pure noise, 100 apart
    assert [s.index for s in steps] == list(range(10)) and {s.total for s in steps} == {10}
    for previous, step in zip(steps, steps[1:]):
        assert step.x_t is previous.x_next
    assert all(s.x_t.shape == s.x0_hat.shape == SHAPE for s in steps)


def test_seed_repeats_the_trajectory_and_ddim_eta0_is_deterministic():
    schedule = diffusion.get_schedule("linear")
    first = diffusion.generate(fixed_eps, schedule, NOISE, steps=10, seed=5, predicts="eps")
    assert torch.equal(first, diffusion.generate(fixed_eps, schedule, NOISE, steps=10, seed=5, predicts="eps"))
    assert not torch.allclose(first, diffusion.generate(fixed_eps, schedule, NOISE, steps=10, seed=6, predicts="eps"))
    # eta = 0 draws from the generator once, for x_T, and never again: the rest is deterministic
    used, fresh = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    diffusion.generate(fixed_eps, schedule, NOISE, steps=10, seed=used, predicts="eps")
    torch.randn(SHAPE, generator=fresh)
    assert torch.equal(torch.randn(3, generator=used), torch.randn(3, generator=fresh))
    noisy = [diffusion.generate(fixed_eps, schedule, NOISE, steps=10, eta=1.0, seed=s, predicts="eps") for s in (8, 8)]
    assert torch.equal(*noisy)


def test_sdedit_strength_picks_the_starting_timestep():
    schedule = diffusion.get_schedule("linear")
    clip = a_clip()
    steps = list(diffusion.ddim(lambda x, t: clip, schedule, diffusion.Start.noised_clip(clip, 0.3), steps=50))
    assert len(steps) == 15 and steps[0].t == 299
    noise = torch.randn(SHAPE, generator=torch.Generator().manual_seed(0))  # the sampler's default seed
    assert torch.allclose(steps[0].x_t, diffusion.add_noise(schedule, clip, noise, 299))
    assert diffusion.start_index(50, 1.0) == 0 and diffusion.start_index(50, 0.001) == 49
    with pytest.raises(ValueError):
        diffusion.start_index(50, 0.0)


def test_snr_falls_as_noise_rises():
    for name in diffusion.SCHEDULES:
        snr = diffusion.get_schedule(name).snr(torch.arange(1000))
        assert torch.all(snr[1:] < snr[:-1])
    assert diffusion.get_schedule("linear").alpha_bar(-1) == 1.0


def test_the_dit_drives_a_sampler():
    model = build_dit("tiny")
    start = diffusion.Start.noise((1, 2, 16, 24, 3))
    steps = list(diffusion.ddim(model, diffusion.get_schedule("linear"), start, steps=4))
    assert len(steps) == 4 and steps[-1].x_next.shape == (1, 2, 16, 24, 3)
    assert torch.equal(steps[-1].x_next, torch.zeros(1, 2, 16, 24, 3))  # an untrained DiT predicts 0


def test_a_schedule_or_a_sampler_added_to_its_registry_is_offered_by_the_links_and_the_command_line(monkeypatch):
    """Adding a schedule is one function and one line of SCHEDULES (a sampler: of SAMPLERS); the link
    parser and the command line then offer it (and the page's radios: the test after this one)."""
    from explainer.cli import build_parser
    from explainer.page.views import view_from_query

    def steep_schedule(steps: int = 1000) -> diffusion.Schedule:
        return diffusion.Schedule("steep", torch.linspace(1e-3, 0.05, steps, dtype=torch.float64))

    monkeypatch.setitem(diffusion.SCHEDULES, "steep", steep_schedule)
    monkeypatch.setitem(diffusion.SAMPLERS, "greedy", diffusion.ddim)
    view, ignored = view_from_query({"schedule": "steep", "sampler": "greedy"})
    assert (view["schedule"], view["sampler"], ignored) == ("steep", "greedy", [])
    args = build_parser().parse_args(["train", "--schedule", "steep"])
    assert args.schedule == "steep" and diffusion.get_schedule(args.schedule).name == "steep"
    assert build_parser().parse_args(["denoise", "clip.mp4", "--sampler", "greedy"]).sampler == "greedy"
    monkeypatch.delitem(diffusion.SCHEDULES, "steep")
    assert view_from_query({"schedule": "steep"})[0]["schedule"] == "linear"  # gone again: the default


def test_the_page_offers_a_schedule_and_a_sampler_added_to_their_registries(monkeypatch):
    gr = pytest.importorskip("gradio")
    from explainer import page

    monkeypatch.setitem(diffusion.SCHEDULES, "steep", diffusion.linear_schedule)
    monkeypatch.setitem(diffusion.SAMPLERS, "greedy", diffusion.ddim)
    demo = page.build_demo()
    offered = {block.label: [value for _, value in block.choices] for block in demo.blocks.values()
               if isinstance(block, gr.Radio)}
    assert offered["schedule"] == list(diffusion.SCHEDULES) and "steep" in offered["schedule"]
    assert offered["sampler"] == list(diffusion.SAMPLERS) and "greedy" in offered["sampler"]


def test_the_path_map_places_the_clip_up_and_the_starting_noise_across():
    from explainer.trajectory import PathMap

    rng = np.random.default_rng(0)
    clip = rng.integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)
    noise = rng.integers(0, 256, clip.shape, dtype=np.uint8)
    path = PathMap(clip, noise)
    across, up = path.clip
    assert abs(across) < 1e-5 and up > 0.3  # the clip lies on the up axis
    start_across, start_up = path.place(noise)
    assert start_across > 0.3  # the starting noise is mostly across
    middle = path.place(((clip.astype(np.float32) + noise) / 2).round().astype(np.uint8))
    assert 0 < middle[0] < start_across and abs(middle[1] - (up + start_up) / 2) < 0.02


def test_the_change_between_guesses_says_its_scale():
    from explainer.trajectory import change_between

    rng = np.random.default_rng(1)
    before = rng.integers(60, 190, (2, 64, 64, 3), dtype=np.uint8)
    coarse = before.copy()
    coarse[:, :, 32:] += 30  # half of every frame brightens: layout
    fine = (before.astype(np.int16) + rng.integers(-15, 16, before.shape)).astype(np.uint8)  # grain: detail
    rms, share = change_between(before, coarse)
    assert abs(rms - 30 / np.sqrt(2)) < 0.5 and share > 0.8
    rms, share = change_between(before, fine)
    assert 5 < rms < 12 and share < 0.1
    assert change_between(before, before) == (0.0, 0.0)
