"""Which generator for labels -> photo, and at what cost? pix2pix (Isola et al. 2017), Hu, Wang and Wang's
hierarchical U-Net, pix2pixHD (Wang et al. 2018) with its global generator alone and with the local enhancer
(staged: the global net alone at half size for the first half of the run), SPADE (Park et al. 2019) and SPADE
with its VAE style encoder, the comparison of Liu's limited-compute report (Manchester 2020), on
synthetic_scenes labels -> photo (models/pix2pixhd.py, models/spade.py). pix2pix and the hierarchical U-Net read
the colour label image, pix2pixHD and SPADE the one-hot label map plus the instance-boundary channel (cars,
people), as their references. Each row also shows its parameters (millions, every trained net) and training
images/s (what a row costs), and the SPADE + VAE row the diversity of its outputs over 4 latents per label map.

Profiles: smoke (64 px, tiny nets: numbers mean nothing); quick (64 px, 4,800 images in batches of 8 for every
row; width reductions: pix2pix at its quick widths (U-Net 6 downsamplings, ngf/ndf 32, D 34 px); pix2pixHD
ngf 16 (local branch 8) with 3 downsamplings (8 x 8 at 64 px, as 4 at 1024 x 512 gives 64 x 32), 9 residual
blocks, the multiscale D at ndf 32; SPADE ngf 16, SPADE MLPs 32 wide, the encoder at 64 px, D ndf 32);
paper (256 px, batch 1, 200 epochs of 2,975 images, the references' widths). The VGG loss is off in the main rows
(no VGG19 weights here, never downloaded): the "+ VGG" rows, the references' full objectives, run only with
`--weights vgg19=PATH` and are otherwise skipped with a line saying so. The published rows (Cityscapes, other
segmenters, far larger models and images) are for orientation only.
"""

from studies.catalogue.profiles import PAPER as P2P_PAPER
from studies.catalogue.profiles import QUICK as P2P_QUICK
from studies.catalogue.profiles import SMOKE as P2P_SMOKE
from studies.spec import Claim, Profile, RunSpec, Study

COMMON = ("data.size", "data.n_train", "data.n_val", "data.n_test", "train.images", "train.batch_size",
          "train.log_every", "train.ckpt_every", "train.sample_every", "train.eval_every", "eval.segmenter_epochs",
          "eval.batch_size")  # fmt: skip
SIZES = {
    "smoke": {"pix2pix": {"model.g.num_downs": 6, "model.g.ngf": 4, "model.d.ndf": 4, "model.d.n_layers": 2},
              "pix2pixhd": {"model.g.ngf": 4, "model.g.n_downsampling": 2, "model.g.n_blocks": 1,
                            "model.g.n_blocks_local": 1, "model.d.ndf": 4},
              "spade": {"model.g.ngf": 2, "model.g.nhidden": 8, "model.e.size": 64, "model.d.ndf": 4}},
    "quick": {"pix2pix": {"model.g.num_downs": 6, "model.g.ngf": 32, "model.d.ndf": 32, "model.d.n_layers": 2},
              "pix2pixhd": {"model.g.ngf": 16, "model.g.n_downsampling": 3, "model.d.ndf": 32},
              "spade": {"model.g.ngf": 16, "model.g.nhidden": 32, "model.e.size": 64, "model.d.ndf": 32}},
    "paper": {"pix2pix": {"model.g.num_downs": 8, "model.g.ngf": 64, "model.d.ndf": 64},
              "pix2pixhd": {"model.g.ngf": 64, "model.g.n_downsampling": 4, "model.d.ndf": 64},
              "spade": {"model.g.ngf": 64, "model.g.nhidden": 128, "model.e.size": 256, "model.d.ndf": 64}},
}  # fmt: skip
SETTINGS = {"smoke": {k: v for k, v in P2P_SMOKE.items() if k in COMMON} | {"data.size": 64},
            "quick": {k: v for k, v in P2P_QUICK.items() if k in COMMON},
            "paper": {k: v for k, v in P2P_PAPER.items() if k in COMMON}}  # fmt: skip
METRICS = ("fcn_score", "ssim", "hist_intersection", "swd")
HD = {"recipe": "pix2pixhd", "model.g.local": False, "model.lambda_vgg": 0.0}
SP = {"recipe": "spade", "model.use_vae": False, "model.lambda_vgg": 0.0, "metrics": METRICS}
ORDER = "SPADE > pix2pixHD (global + local) > pix2pix"
SRC = "Park et al. 2019, Table 1; Wang et al. 2018, Table 1"

STUDY = Study(
    name="labels2photo_generators",
    question="pix2pix, hierarchical U-Net, pix2pixHD, SPADE: which generator for labels -> photo, at what cost?",
    base=RunSpec(metrics=METRICS),
    variants={"pix2pix": {"recipe": "pix2pix", "model.g.hierarchical": False},
              "Hierarchical U-Net": {"recipe": "pix2pix", "model.g.hierarchical": True},
              "pix2pixHD (global)": HD,
              "pix2pixHD (global + local)": HD | {"model.g.local": True},
              "pix2pixHD + VGG": HD | {"model.g.local": True, "model.lambda_vgg": 10.0},
              "SPADE": SP,
              "SPADE + VAE": SP | {"model.use_vae": True, "metrics": (*METRICS, "latent_diversity")},
              "SPADE + VGG": SP | {"model.lambda_vgg": 10.0}},
    profiles={name: Profile(dict(SETTINGS[name]), recipes={k: dict(v) for k, v in SIZES[name].items()},
                            note="64 px; pix2pixHD ngf 16, SPADE ngf 16 (see the module docstring)")
              for name in ("smoke", "quick", "paper")},
    settings={"metrics": METRICS},
    reference_file="pix2pixhd_spade_cityscapes",
    reference=("pix2pixhd_table1", "spade_table1"),
    reference_names={"pix2pix": ("pix2pix",), "pix2pixHD + VGG": ("pix2pixHD",), "SPADE + VGG": ("SPADE",)},
    claims=(
        Claim(ORDER, "fcn_pixel_acc", SRC),
        Claim(ORDER, "fcn_class_iou", SRC),
        Claim("pix2pixHD (global + local) > pix2pixHD (global)", "fcn_pixel_acc", "Wang et al. 2018, Sec. 3.2"),
    ),
    table_extra=("params_m", "train_images_per_s"),
)  # fmt: skip
