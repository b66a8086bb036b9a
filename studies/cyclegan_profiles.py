"""The smoke / quick / paper profiles of the CycleGAN studies, with pix2pix sized alike for its comparison rows.

- quick: 64 px, 2,400 training images in batches of 4 (600 steps; the reference trains at batch 1), ResNet
  generator with 6 blocks at ngf 16, 70x70 PatchGAN one rung down (34 px at 64 px, as the pix2pix quick
  profile) at ndf 32; pix2pix at its quick widths (U-Net 6 downsamplings, ngf/ndf 32) for the same images.
- paper: 256 px (CycleGAN's Cityscapes runs used 128 px: `--set data.size=128`), batch 1, 200 epochs of
  2,975 images, ResNet 9 blocks at ngf 64, the 70x70 PatchGAN at ndf 64. Meant for a GPU and real data.
"""

from studies.spec import Profile

SMOKE = {"data.size": 32, "data.n_train": 16, "data.n_val": 4, "data.n_test": 8, "train.images": 8,
         "train.batch_size": 2, "train.log_every": 2, "train.ckpt_every": 4, "eval.segmenter_epochs": 1,
         "eval.batch_size": 8}  # fmt: skip
QUICK = {"data.size": 64, "data.n_train": 600, "data.n_val": 50, "data.n_test": 200, "train.images": 2400,
         "train.batch_size": 4, "train.log_every": 40, "train.ckpt_every": 800, "train.sample_every": 800,
         "eval.segmenter_epochs": 6}  # fmt: skip
PAPER = {"data.size": 256, "data.n_train": 2975, "data.n_test": 500, "train.images": 200 * 2975,
         "train.batch_size": 1, "train.log_every": 100, "train.ckpt_every": 10000, "train.sample_every": 10000,
         "eval.segmenter_epochs": 30}  # fmt: skip
SIZES = {
    "smoke": {"cyclegan": {"model.g.n_blocks": 1, "model.g.ngf": 4, "model.d.ndf": 4, "model.d.n_layers": 2},
              "pix2pix": {"model.g.num_downs": 5, "model.g.ngf": 8, "model.d.ndf": 8, "model.d.n_layers": 2}},
    "quick": {"cyclegan": {"model.g.n_blocks": 6, "model.g.ngf": 16, "model.d.ndf": 32, "model.d.n_layers": 2},
              "pix2pix": {"model.g.num_downs": 6, "model.g.ngf": 32, "model.d.ndf": 32, "model.d.n_layers": 2}},
    "paper": {"cyclegan": {"model.g.n_blocks": 9, "model.g.ngf": 64, "model.d.ndf": 64},
              "pix2pix": {"model.g.num_downs": 8, "model.g.ngf": 64, "model.d.ndf": 64}},
}  # fmt: skip


def cyclegan_profiles(note: str = "") -> dict[str, Profile]:
    return {name: Profile(dict(settings), recipes={k: dict(v) for k, v in SIZES[name].items()}, note=note)
            for name, settings in (("smoke", SMOKE), ("quick", QUICK), ("paper", PAPER))}  # fmt: skip
