"""Does the discriminator's receptive field matter? pix2pix Table 3 (Isola et al. 2017): 1x1 PixelGAN,
16x16, 70x70 and 286x286 PatchGANs, loss L1+cGAN, labels->photo, scored by FCN-score and more.

At 64 px (quick) the paper's fields would all cover the image, so the quick and smoke profiles re-map
the variants to the same ladder one rung down: 1 / 16 / 34 / 70 px, so that only the largest sees the
whole image (as 286 does at 256 px). The printed table shows each run's actual receptive field.
"""

from studies.catalogue.profiles import pix2pix_profiles
from studies.spec import Claim, RunSpec, Study

SMALL = {
    "1x1": {"model.d.kind": "pixel", "model.d.n_layers": 1},
    "16x16": {"model.d.kind": "patch", "model.d.n_layers": 1},
    "70x70": {"model.d.kind": "patch", "model.d.n_layers": 2},  # 34 px at 64 px ~ 70 px at 256 px / 2
    "286x286": {"model.d.kind": "patch", "model.d.n_layers": 3},
}  # 70 px >= 64 px: the whole image

STUDY = Study(
    name="ablation_patchgan",
    question="Does the discriminator's receptive field matter? (pix2pix Table 3)",
    base=RunSpec(),
    variants={"1x1": {"model.d.kind": "pixel", "model.d.n_layers": 3},
              "16x16": {"model.d.kind": "patch", "model.d.n_layers": 1},
              "70x70": {"model.d.kind": "patch", "model.d.n_layers": 3},  # paper default
              "286x286": {"model.d.kind": "patch", "model.d.n_layers": 5}},
    profiles=pix2pix_profiles(SMALL, note="D ladder 1/16/34/70 px at <= 64 px"),
    reference_file="pix2pix_cityscapes",
    reference=("patchgan",),
    reference_names={v: (v,) for v in ("1x1", "16x16", "70x70", "286x286")},
    row_note="(D RF {D_receptive_field}px)",
    claims=(
        Claim("70x70 > 16x16 > 1x1", "fcn_pixel_acc", "Isola et al. 2017, Table 3"),
        Claim("70x70 > 16x16 > 1x1", "fcn_class_acc", "Isola et al. 2017, Table 3"),
        Claim("70x70 > 286x286", "fcn_pixel_acc", "Isola et al. 2017, Table 3"),
        Claim("70x70 > 286x286", "fcn_class_iou", "Isola et al. 2017, Table 3"),
    ),
)  # fmt: skip
