"""The page's concurrency pools: each event names one, and the server decides how many jobs each runs."""

MODEL_POOL = "model"  # every event that decodes a clip or runs the DiT
FIT_POOL = "fit"      # the fit, the one long job: a pool of its own, so other visitors go on beside it
PAGE_POOL = "page"    # the page opening: answers kept for the bundled samples, read by many visitors at once
