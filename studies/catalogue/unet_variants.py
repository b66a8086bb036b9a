"""What do the pix2pix generator and discriminator redesigns of Hu, Wang and Wang buy? The U-Net of pix2pix
(Isola et al. 2017) against their hierarchical U-Net (a global U-Net on the half-size input plus a residual
local U-Net at full size), the U-Net with 2x2 instead of 4x4 kernels, and a PatchGAN with a 16 x 16 output map at
256 px (one logit per 16 px; models/pix2pix.py), each with L1+cGAN on synthetic_scenes labels -> photo.

Profiles as the pix2pix ablations (studies/catalogue/profiles.py), with the 70x70 D one rung down (34 px at 64 px) and
6 downsamplings at every small size (the hierarchical U-Net's global net needs 5, so smoke runs at 64 px too).
At 64 px the stride-16 D gives a 4 x 4 map whose logits each see 78 px, the whole image: the printed table
shows each run's receptive field. Hu, Wang and Wang publish no code; the claims below are the hypotheses their
redesign tests, not published numbers.
"""

from studies.catalogue.profiles import pix2pix_profiles
from studies.spec import Claim, RunSpec, Study

SOURCE = "Hu, Wang, Wang (the redesign's hypothesis)"
V = {"model.g.hierarchical": False, "model.g.kernel": 4, "model.d.kind": "patch"}

STUDY = Study(
    name="unet_variants",
    question="Hierarchical U-Net, 2x2 kernels, a 16x16-output D: what does each buy over pix2pix's U-Net?",
    base=RunSpec(),
    variants={"U-Net": V,
              "Hierarchical U-Net": V | {"model.g.hierarchical": True},
              "U-Net kernel 2": V | {"model.g.kernel": 2},
              "D 16x16 output": V | {"model.d.kind": "stride16"}},
    profiles=pix2pix_profiles(small_settings={"data.size": 64, "model.g.num_downs": 6, "model.d.n_layers": 2},
                              note="64 px: U-Net 6 downsamplings, D 34 px (the stride-16 D: 78 px)"),
    reference_file="",
    row_note="(D RF {D_receptive_field}px)",
    claims=(
        Claim("Hierarchical U-Net > U-Net", "fcn_pixel_acc", SOURCE),
        Claim("Hierarchical U-Net > U-Net", "ssim", SOURCE),
        Claim("U-Net > U-Net kernel 2", "fcn_pixel_acc", SOURCE),
        Claim("D 16x16 output > U-Net", "fcn_pixel_acc", SOURCE),
    ),
    table_extra=("params_m", "train_images_per_s"),
)  # fmt: skip
