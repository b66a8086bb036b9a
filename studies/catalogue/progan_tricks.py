"""Which of Progressive GAN's techniques matter? After Table 1 of Karras et al. 2018 (CelebA 128 px): (a) no growing
(the Gulrajani et al. WGAN-GP baseline at full resolution), (b) + progressive growing, (e) + minibatch stddev,
(f) + equalized learning rate, (g) + pixelwise normalization = the full model; each adds one technique to the
row above. Scored by SWD per pyramid level and MS-SSIM of generated pairs (lower = more diverse), over training
(every `eval_every` images) and at the end, on the synthetic photos (unconditional view; `--data` takes
CIFAR-10 or CelebA roots). Table 1's rows (c), (d) and (e*) (small minibatch, revised hyperparameters, minibatch
discrimination) are not in this study. The published CelebA rows are shown for orientation only.
Quick: 4 -> 32 px, feature maps min(512 / 2^level, 128) instead of min(8192 / 2^level, 512), 4,480 images per
stabilise and per fade-in phase (the paper: 800k), minibatch 64 up to 8 px, 32 at 16, 16 at 32: the study in
about 20 minutes on 2 CPU cores ((a), trained at 32 px throughout, takes about 40% of it). With 6,400 images
per phase it took 28 minutes.
"""

from studies.spec import Claim, Profile, RunSpec, Study

OFF = {"model.growing": False, "model.mbstd": False, "model.equalized_lr": False, "model.pixelnorm": False}
SMALL_MAPS = {"model.fmap_base": 512, "model.fmap_max": 128, "model.latent": 128}

SMOKE = {"data.size": 32, "data.n_train": 32, "data.n_val": 4, "data.n_test": 16, "train.images": 64,
         "train.log_every": 8, "train.ckpt_every": 32, "train.eval_every": 32, "eval.batch_size": 16,
         "model.fmap_base": 64, "model.fmap_max": 16, "model.latent": 16, "model.stabilize_images": 8,
         "model.transition_images": 8, "model.minibatch": ((4, 4), (8, 4), (16, 4), (32, 4))}  # fmt: skip
QUICK = {"data.size": 32, "data.n_train": 2000, "data.n_val": 50, "data.n_test": 256, "train.images": 7 * 4480,
         "train.log_every": 320, "train.ckpt_every": 4480, "train.eval_every": 4480, "eval.batch_size": 64,
         "model.stabilize_images": 4480, "model.transition_images": 4480,
         "model.minibatch": ((4, 64), (8, 64), (16, 32), (32, 16))} | SMALL_MAPS  # fmt: skip
PAPER = {"data.size": 128, "data.n_train": 30000, "data.n_test": 10000, "train.images": 9 * 800_000,
         "train.log_every": 3200, "train.ckpt_every": 100_000, "train.eval_every": 800_000, "eval.batch_size": 64,
         "model.stabilize_images": 800_000, "model.transition_images": 800_000,
         "model.minibatch": ((4, 128), (8, 128), (16, 128), (32, 64), (64, 32), (128, 16))}  # fmt: skip

STUDY = Study(
    name="progan_tricks",
    question="Which Progressive GAN technique matters? (Karras et al. 2018, Table 1)",
    base=RunSpec(recipe="progan"),
    settings={"metrics": ("swd", "ms_ssim_diversity")},
    pretrained_metrics=("dinov2", "prdc_inception", "fid"),  # unconditional: distribution metrics only
    variants={
        "(a) no growing": OFF,
        "(b) + progressive growing": OFF | {"model.growing": True},
        "(e) + minibatch stddev": OFF | {"model.growing": True, "model.mbstd": True},
        "(f) + equalized lr": OFF | {"model.growing": True, "model.mbstd": True, "model.equalized_lr": True},
        "(g) + pixelnorm (full)": {"model.growing": True, "model.mbstd": True, "model.equalized_lr": True,
                                   "model.pixelnorm": True},
    },
    profiles={"smoke": Profile(SMOKE, note="seconds, for the tests"),
              "quick": Profile(QUICK, note="4 -> 32 px, narrower maps, 4,480 images per phase"),
              "paper": Profile(PAPER, note="128 px, the paper's 800k-image phases; for a GPU")},
    reference_file="progan_celeba128",
    reference=("celeba128",),
    reference_names={"(a) no growing": ("(a) Gulrajani et al. (2017)",),
                     "(b) + progressive growing": ("(b) + Progressive growing",),
                     "(e) + minibatch stddev": ("(e) Minibatch stddev",),
                     "(f) + equalized lr": ("(f) + Equalized learning rate",),
                     "(g) + pixelnorm (full)": ("(g) + Pixelwise normalization",)},
    row_note="({resolution}px)",
    claims=(
        Claim("(b) + progressive growing > (a) no growing", "swd_avg", "Karras et al. 2018, Table 1 (a) vs (b)"),
        Claim("(g) + pixelnorm (full) > (a) no growing", "swd_avg", "Karras et al. 2018, Table 1"),
    ),
)  # fmt: skip
