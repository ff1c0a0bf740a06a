"""Film Reel: an interactive explainer of how Sora-style video diffusion transformers see a clip.

clip file -> frames (clip) -> spacetime patches (patches) -> DiT and diffusion (dit, diffusion)
-> figures -> page.
"""
__version__ = "0.1.0"
