"""Which objective? pix2pix Table 1 and Fig. 7 (Isola et al. 2017): L1, GAN, cGAN, L1+GAN, L1+cGAN with the
70x70 PatchGAN (34 px at the quick profile's 64 px), labels->photo.
"""

from studies.catalogue.profiles import pix2pix_profiles
from studies.spec import Claim, RunSpec, Study

STUDY = Study(
    name="ablation_loss",
    question="Which objective: L1, GAN, cGAN or their sums? (pix2pix Table 1, Fig. 7)",
    base=RunSpec(),
    variants={"L1": {"model.loss": "l1"}, "GAN": {"model.loss": "gan"}, "cGAN": {"model.loss": "cgan"},
              "L1+GAN": {"model.loss": "l1+gan"}, "L1+cGAN": {"model.loss": "l1+cgan"}},
    profiles=pix2pix_profiles(small_settings={"model.d.n_layers": 2}),  # 34 px: the 70x70 rung at 64 px
    reference_file="pix2pix_cityscapes",
    reference=("loss", "histogram"),
    reference_names={v: (v,) for v in ("L1", "GAN", "cGAN", "L1+GAN", "L1+cGAN")},
    claims=(
        Claim("L1+cGAN > L1", "fcn_pixel_acc", "Isola et al. 2017, Table 1"),
        Claim("cGAN > GAN", "fcn_pixel_acc", "Isola et al. 2017, Table 1"),
        Claim("L1+cGAN > L1+GAN", "fcn_pixel_acc", "Isola et al. 2017, Table 1"),
        Claim("L1+cGAN > L1", "hist_a", "Isola et al. 2017, Fig. 7(d)"),
        Claim("cGAN > L1", "hist_b", "Isola et al. 2017, Fig. 7(d)"),
    ),
)  # fmt: skip
