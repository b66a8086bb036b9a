"""Which CycleGAN loss terms matter? The CycleGAN paper's Tables 4 and 5 (Zhu et al. 2017) on synthetic_scenes,
both directions: labels -> photo by FCN-score, photo -> labels by the nearest class colour of each output pixel
(label_*, the paper's Table 3 protocol). Cycle alone, GAN alone, GAN + forward cycle (A -> B -> A), GAN +
backward cycle, CycleGAN, and CycleGAN + identity (the paper used identity for paintings only: every other row
trains without it), with pix2pix trained on the pairs as the upper-bound row. Trained unpaired (each B drawn
at random from the other half of the training split), scored on pairs.
"""

from studies.catalogue.profiles import cyclegan_profiles
from studies.spec import Claim, RunSpec, Study

OFF = {"model.gan": True, "model.cycle_forward": True, "model.cycle_backward": True, "model.lambda_identity": 0.0}
METRICS = ("fcn_score", "label_score", "ssim", "hist_intersection", "swd")
T4, T5 = "Zhu et al. 2017, Table 4", "Zhu et al. 2017, Table 5"

STUDY = Study(
    name="cyclegan_loss",
    question="Which CycleGAN loss terms matter, in each direction? (CycleGAN Tables 4 and 5)",
    base=RunSpec(recipe="cyclegan", metrics=METRICS),
    variants={
        "Cycle alone": OFF | {"model.gan": False},
        "GAN alone": OFF | {"model.cycle_forward": False, "model.cycle_backward": False},
        "GAN + forward cycle": OFF | {"model.cycle_backward": False},
        "GAN + backward cycle": OFF | {"model.cycle_forward": False},
        "CycleGAN": OFF,
        "CycleGAN + identity": OFF | {"model.lambda_identity": 0.5},
        "pix2pix (paired)": {"recipe": "pix2pix", "metrics": ("fcn_score", "ssim", "hist_intersection", "swd")},
    },
    profiles=cyclegan_profiles("64 px: ResNet 6 blocks ngf 16, D 34 px; pix2pix at its quick widths"),
    reference_file="cyclegan_cityscapes",
    reference=("loss_labels2photo", "loss_photo2labels", "labels2photo"),
    reference_names={v: (v,) for v in ("Cycle alone", "GAN alone", "GAN + forward cycle", "GAN + backward cycle",
                                       "CycleGAN")} | {"pix2pix (paired)": ("pix2pix",)},
    claims=(
        Claim("CycleGAN > Cycle alone", "fcn_pixel_acc", T4),
        Claim("CycleGAN > GAN alone", "fcn_class_acc", T4),
        Claim("CycleGAN > GAN alone", "label_pixel_acc", T5),
        Claim("CycleGAN > GAN + backward cycle", "label_pixel_acc", T5),
        Claim("pix2pix (paired) > CycleGAN", "fcn_pixel_acc", "Zhu et al. 2017, Table 2 (pix2pix: the upper bound)"),
    ),
)  # fmt: skip
