"""The smoke / quick / paper profiles shared by the pix2pix ablations (Isola et al. 2017).

- smoke: seconds per run, 32 px, tiny nets; for the tests only: numbers mean nothing.
- quick (default): 64 px so a whole ablation runs in minutes on a 2-core CPU; U-Net with 6 downsamplings
  (1x1 bottleneck at 64 px, as num_downs 8 at 256 px), ngf/ndf 32, batch 8 for 4,800 images (600 steps).
- paper: 256 px, ngf 64, num_downs 8, batch 1, 200 epochs of 2,975 images (Cityscapes' train size),
  the paper's jitter and flips. Meant for a GPU and real data (--data PATH).
"""

from studies.spec import Profile

SMOKE = {"data.size": 32, "data.n_train": 16, "data.n_val": 4, "data.n_test": 8, "train.images": 16,
         "train.batch_size": 4, "train.log_every": 4, "train.ckpt_every": 8, "model.g.num_downs": 5,
         "model.g.ngf": 8, "model.d.ndf": 8, "eval.segmenter_epochs": 1, "eval.batch_size": 8}  # fmt: skip
QUICK = {"data.size": 64, "data.n_train": 600, "data.n_val": 50, "data.n_test": 200, "train.images": 4800,
         "train.batch_size": 8, "train.log_every": 80, "train.ckpt_every": 1600, "train.sample_every": 1600,
         "model.g.num_downs": 6, "model.g.ngf": 32, "model.d.ndf": 32, "eval.segmenter_epochs": 6}  # fmt: skip
PAPER = {"data.size": 256, "data.n_train": 2975, "data.n_test": 500, "train.images": 200 * 2975,
         "train.batch_size": 1, "train.log_every": 100, "train.ckpt_every": 10000, "train.sample_every": 10000,
         "train.eval_every": 100000, "model.g.num_downs": 8, "model.g.ngf": 64, "model.d.ndf": 64,
         "eval.segmenter_epochs": 30}  # fmt: skip


def pix2pix_profiles(small_variants=None, small_settings=None, note: str = ""):
    """Fresh profile dicts; `small_*` apply to smoke and quick (64 px and below), never to paper."""
    small = dict(small_settings or {})
    return {"smoke": Profile({**SMOKE, **small}, dict(small_variants or {}), note),
            "quick": Profile({**QUICK, **small}, dict(small_variants or {}), note),
            "paper": Profile(dict(PAPER), {}, "")}  # fmt: skip
