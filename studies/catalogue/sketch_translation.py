"""pix2pix (paired) or CycleGAN (unpaired) for sketch -> photo? The Beggs, Khadem, Lund, Thompson report trained
both on Sketchy classes and compared them by SSIM (its Table 1); here both train on synthetic_sketches (line
drawings of the synthetic scenes, studies/datasets/sketches.py) and are scored by SSIM, the FCN-score of the photos,
Lab histograms and SWD. CycleGAN trains without the identity term. The report's SSIM rows (Sketchy trees) are
shown for orientation: another dataset, other models.
"""

from studies.catalogue.profiles import cyclegan_profiles
from studies.spec import Claim, RunSpec, Study

METRICS = ("ssim", "fcn_score", "hist_intersection", "swd")

STUDY = Study(
    name="sketch_translation",
    question="pix2pix or CycleGAN for sketch -> photo? (Beggs et al., Table 1)",
    base=RunSpec(recipe="pix2pix", metrics=METRICS),
    settings={"data.name": "synthetic_sketches"},
    variants={"pix2pix": {"recipe": "pix2pix"},
              "CycleGAN": {"recipe": "cyclegan", "model.lambda_identity": 0.0}},
    profiles=cyclegan_profiles("64 px, the CycleGAN studies' sizes"),
    reference_file="sketch_ssim_beggs",
    reference=("sketch_trees",),
    reference_names={"pix2pix": ("pix2pix",), "CycleGAN": ("CycleGAN",)},
    claims=(Claim("pix2pix > CycleGAN", "ssim", "Beggs et al., Table 1 (trees: 0.14 vs 0.095)"),),
)  # fmt: skip
