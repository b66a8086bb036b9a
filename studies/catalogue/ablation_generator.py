"""Do the U-Net's skips matter? pix2pix Table 2 (Isola et al. 2017): encoder-decoder vs U-Net, each trained
with L1 and with L1+cGAN (70x70 PatchGAN; 34 px at the quick profile's 64 px).
"""

from studies.catalogue.profiles import pix2pix_profiles
from studies.spec import Claim, RunSpec, Study

STUDY = Study(
    name="ablation_generator",
    question="Do the U-Net's skip connections matter? (pix2pix Table 2)",
    base=RunSpec(),
    variants={"Encoder-decoder (L1)": {"model.g.skips": False, "model.loss": "l1"},
              "Encoder-decoder (L1+cGAN)": {"model.g.skips": False, "model.loss": "l1+cgan"},
              "U-net (L1)": {"model.g.skips": True, "model.loss": "l1"},
              "U-net (L1+cGAN)": {"model.g.skips": True, "model.loss": "l1+cgan"}},
    profiles=pix2pix_profiles(small_settings={"model.d.n_layers": 2}),  # 34 px: the 70x70 rung at 64 px
    reference_file="pix2pix_cityscapes",
    reference=("generator",),
    reference_names={v: (v,) for v in ("Encoder-decoder (L1)", "Encoder-decoder (L1+cGAN)", "U-net (L1)",
                                       "U-net (L1+cGAN)")},
    claims=(
        Claim("U-net (L1) > Encoder-decoder (L1)", "fcn_pixel_acc", "Isola et al. 2017, Table 2"),
        Claim("U-net (L1+cGAN) > Encoder-decoder (L1+cGAN)", "fcn_pixel_acc", "Isola et al. 2017, Table 2"),
        Claim("Encoder-decoder (L1) > Encoder-decoder (L1+cGAN)", "fcn_pixel_acc", "Isola et al. 2017, Table 2"),
    ),
)  # fmt: skip
