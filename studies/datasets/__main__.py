"""`python -m studies.datasets [FILE]`: a grid of 16 synthetic_scenes (label colours above photos, 128 px) as a
PNG, the figure of the README (docs/synthetic_scenes.png)."""

import sys

from PIL import Image

from studies.datasets.synthetic import grid

Image.fromarray(grid()).save(sys.argv[1] if len(sys.argv) > 1 else "synthetic_scenes.png")
