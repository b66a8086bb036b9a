"""Which stabilisation trick matters? The Beggs, Khadem, Lund, Thompson report trained a fully connected GAN and
a DCGAN on Gaussian surfaces (studies/datasets/surfaces.py), found them "very unstable to train", and made them
reproducible with four tricks: training D more, noise on D's inputs, one-sided label smoothing and a larger D
learning rate (models/train.py TricksConfig, switches of every recipe). This study turns each on alone and all
together, over 5 seeds, and measures what the report only plotted: the share of seeds that converge
(`converged`: every alpha of the family generated, mean fit residual < 0.075; its mean over seeds is the
share), mode coverage, the fit residual, the energy distance to the data, and gradient-norm instability
(`*_grad_spikes`: logged steps above 10x the median of the 20 before; `*_grad_logstd`: spread of log10 norm
over the second half). The report's settings (widths, steps, trick strengths) are not all published; ours
are documented in the profiles.
"""

from studies.spec import Claim, Profile, RunSpec, Study

NONE = {
    "model.arch": "fc",
    "data.surfaces.format": "clouds",
    "data.surfaces.grid": 7,
    "train.tricks.d_steps": 1,
    "train.tricks.instance_noise": 0.0,
    "train.tricks.label_smoothing": 0.0,
    "train.tricks.d_lr_mult": 1.0,
}
ALL = {
    "train.tricks.d_steps": 2,
    "train.tricks.instance_noise": 0.1,
    "train.tricks.label_smoothing": 0.1,
    "train.tricks.d_lr_mult": 4.0,
}
DC = {"model.arch": "dcgan", "data.surfaces.format": "grids", "data.surfaces.grid": 8}

COMMON = {
    "data.n_val": 64,
    "data.n_test": 256,
    "train.log_every": 640,
    "train.ckpt_every": 0,
    "eval.batch_size": 64,
    "train.batch_size": 64,
    "model.nz": 16,
}
SMOKE = COMMON | {
    "data.n_train": 128,
    "data.n_test": 64,
    "train.images": 256,
    "train.log_every": 64,
    "model.hidden_g": 16,
    "model.hidden_d": 16,
    "model.ngf": 4,
    "model.ndf": 4,
}
QUICK = COMMON | {"data.n_train": 2048, "train.images": 64 * 1500, "model.ngf": 16, "model.ndf": 16}
PAPER = COMMON | {
    "data.n_train": 8192,
    "train.images": 64 * 20000,
    "train.log_every": 6400,
    "model.ngf": 64,
    "model.ndf": 64,
    "model.nz": 100,
}

STUDY = Study(
    name="toy_tricks",
    pretrained_metrics=(),  # surfaces, not photos: no pretrained image features apply
    question="Which trick makes a small GAN converge on Gaussian surfaces? (Beggs et al.: FC-GAN and DCGAN)",
    base=RunSpec(recipe="toy"),
    variants={
        "FC-GAN": NONE,
        "FC-GAN + D steps x2": NONE | {"train.tricks.d_steps": 2},
        "FC-GAN + instance noise 0.1": NONE | {"train.tricks.instance_noise": 0.1},
        "FC-GAN + label smoothing 0.1": NONE | {"train.tricks.label_smoothing": 0.1},
        "FC-GAN + D lr x4": NONE | {"train.tricks.d_lr_mult": 4.0},
        "FC-GAN + all four": NONE | ALL,
        "DCGAN": NONE | DC,
        "DCGAN + all four": NONE | DC | ALL,
    },
    profiles={"smoke": Profile(SMOKE, note="seconds, for the tests"),
              "quick": Profile(QUICK, note="1,500 steps of 64; 7x7 clouds; DCGAN ngf/ndf 16 on 8 px grids"),
              "paper": Profile(PAPER, note="20,000 steps; DCGAN at the PyTorch examples' widths")},
    seeds=(0, 1, 2, 3, 4),
    table_extra=("d_grad_spikes", "g_grad_spikes", "d_grad_logstd", "g_grad_logstd"),
    claims=(
        Claim("FC-GAN + all four > FC-GAN", "alpha_coverage", "Beggs et al.: the tricks made training stable"),
        Claim("DCGAN + all four > DCGAN", "alpha_coverage", "Beggs et al.: the tricks made training stable"),
    ),
)  # fmt: skip
