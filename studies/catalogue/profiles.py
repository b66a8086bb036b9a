"""The smoke / quick / paper profiles the studies share.

pix2pix ablations (Isola et al. 2017):

- smoke: seconds per run, 32 px, tiny nets; for the tests only: numbers mean nothing.
- quick (default): 64 px so a whole ablation runs in minutes on a 2-core CPU; U-Net with 6 downsamplings
  (1x1 bottleneck at 64 px, as num_downs 8 at 256 px), ngf/ndf 32, batch 8 for 4,800 images (600 steps).
- paper: 256 px, ngf 64, num_downs 8, batch 1, 200 epochs of 2,975 images (Cityscapes' train size),
  the paper's jitter and flips. Meant for a GPU and real data (--data PATH).

CycleGAN studies (Zhu et al. 2017), with pix2pix sized alike for its comparison rows:

- quick: 64 px, 2,400 training images in batches of 4 (600 steps; the reference trains at batch 1), ResNet
  generator with 6 blocks at ngf 16, 70x70 PatchGAN one rung down (34 px at 64 px, as the pix2pix quick
  profile) at ndf 32; pix2pix at its quick widths (U-Net 6 downsamplings, ngf/ndf 32) for the same images.
- paper: 256 px (CycleGAN's Cityscapes runs used 128 px: `--set data.size=128`), batch 1, 200 epochs of
  2,975 images, ResNet 9 blocks at ngf 64, the 70x70 PatchGAN at ndf 64. Meant for a GPU and real data.
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


CYCLEGAN_SMOKE = {"data.size": 32, "data.n_train": 16, "data.n_val": 4, "data.n_test": 8, "train.images": 8,
         "train.batch_size": 2, "train.log_every": 2, "train.ckpt_every": 4, "eval.segmenter_epochs": 1,
         "eval.batch_size": 8}  # fmt: skip
CYCLEGAN_QUICK = {"data.size": 64, "data.n_train": 600, "data.n_val": 50, "data.n_test": 200, "train.images": 2400,
         "train.batch_size": 4, "train.log_every": 40, "train.ckpt_every": 800, "train.sample_every": 800,
         "eval.segmenter_epochs": 6}  # fmt: skip
CYCLEGAN_PAPER = {"data.size": 256, "data.n_train": 2975, "data.n_test": 500, "train.images": 200 * 2975,
         "train.batch_size": 1, "train.log_every": 100, "train.ckpt_every": 10000, "train.sample_every": 10000,
         "eval.segmenter_epochs": 30}  # fmt: skip
CYCLEGAN_SIZES = {
    "smoke": {"cyclegan": {"model.g.n_blocks": 1, "model.g.ngf": 4, "model.d.ndf": 4, "model.d.n_layers": 2},
              "pix2pix": {"model.g.num_downs": 5, "model.g.ngf": 8, "model.d.ndf": 8, "model.d.n_layers": 2}},
    "quick": {"cyclegan": {"model.g.n_blocks": 6, "model.g.ngf": 16, "model.d.ndf": 32, "model.d.n_layers": 2},
              "pix2pix": {"model.g.num_downs": 6, "model.g.ngf": 32, "model.d.ndf": 32, "model.d.n_layers": 2}},
    "paper": {"cyclegan": {"model.g.n_blocks": 9, "model.g.ngf": 64, "model.d.ndf": 64},
              "pix2pix": {"model.g.num_downs": 8, "model.g.ngf": 64, "model.d.ndf": 64}},
}  # fmt: skip


def cyclegan_profiles(note: str = "") -> dict[str, Profile]:
    settings = {"smoke": CYCLEGAN_SMOKE, "quick": CYCLEGAN_QUICK, "paper": CYCLEGAN_PAPER}
    return {name: Profile(dict(s), recipes={k: dict(v) for k, v in CYCLEGAN_SIZES[name].items()}, note=note)
            for name, s in settings.items()}  # fmt: skip
