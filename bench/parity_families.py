"""The five parity checks of bench/parity.py, one function per family: (peer, comparison, steps, perturb), and the
setups they stand on, one `setup_<family>(peer, size, bs, full, perturb)` per family, shared with the speed check
(bench/parity_speed.py).

A setup builds the reference's nets and training step with the reference's own classes and code (the model classes'
__init__ with an options namespace, optimize_parameters or the trainer, the loop body of the script where the step
lives there; machinery in bench/parity_core.py) and says how to build ganbench's recipe with the same architecture
and objective; `check` transplants the weights into the recipe and steps both sides with the same batches and the
same random draws. ganbench's side is its recipe with the recipe's defaults, stepped by the loop's Engine.

`full=True` (the speed check) is the reference width: pix2pix U-Net ngf 64 with log2(size) downsamplings and the
70x70 PatchGAN ndf 64; CycleGAN resnet_9blocks ngf 64, pool 50; pix2pixHD global G ngf 64 (4 downsamplings, 9
blocks), 2-scale D ndf 64; SPADE ngf 64, D ndf 64 (VAE off, the reference's default); 35 classes + instance edges
for the label maps (Cityscapes' label_nc). `full=False` (the parity check) departs from each reference's default run,
all for speed on one CPU core and none in the code compared: narrower nets (ngf/ndf 16, fewer blocks; DCGAN at its
own 64), 64 px (pix2pix 128 px, the reference's unet_128), label maps of 5 classes, a CycleGAN pool of 1 image so
that the swap rule runs from the second step, SPADE's VAE on. Both: random VGG19 weights handed to both sides (the
reference would download them), square images, and the reference's GPU-only input encoders (pix2pixHD's
encode_input, the VAE encoder's 256 px crop option of SPADE) replaced as said at each.
"""

from __future__ import annotations

import importlib
import math
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from torch import nn

from bench.bench_models import PATHS
from bench.parity_core import Comparison, Peer, definitions, loop_body, offline, seed, transplant
from models.contract import DataFacts, Progress
from models.cyclegan import CycleGAN, CycleGANConfig, ResnetConfig
from models.layers import semantic_input
from models.perceptual import vgg19_features
from models.pix2pix import PatchDConfig, Pix2Pix, Pix2PixConfig, UNetConfig
from models.pix2pixhd import GlobalConfig, MultiscaleDConfig, Pix2PixHD, Pix2PixHDConfig
from models.spade import EncoderConfig, Spade, SPADEConfig, SPADEDConfig, SPADEGConfig
from models.toy import ToyConfig, ToyGAN
from models.train import Engine, TrainConfig
from studies.spec import override

LONG = 10**6  # images of a run whose lr stays constant over the compared steps (as the reference's first epoch)


@dataclass
class Setup:
    """One family's two sides at one size and batch: the reference, stepped by its own code, and a maker of
    ganbench's recipe with the same architecture and objective (one recipe per Engine: an Engine sets the memory
    format of its nets)."""

    ref: Any  # the reference's model, trainer or script namespace
    ref_step: Callable[[dict], Any]  # one reference training step on a batch (ganbench's keys); what the check reads
    ours: Callable[[], Any]  # a fresh ganbench recipe
    nets: Callable[[Any], dict]  # {name: (our net, the reference's net)} of a recipe
    batch: Callable[[int], dict]  # the k-th batch
    bs: int
    keys: dict = field(default_factory=dict)  # transplant key functions by net name (else names or module order)
    keep: Any = None  # what must live as long as the setup (the VGG weight file's folder)

    def transplant(self, recipe) -> dict:
        """The reference's weights into `recipe`; the (ours, theirs) name pairs per net."""
        return {n: transplant(o, t, self.keys.get(n)) for n, (o, t) in self.nets(recipe).items()}


def engine(recipe, images: int, path: dict | None = None, **train) -> Engine:
    """The loop's Engine for `recipe` with the recipe's own train.* defaults, on the CPU, on ganbench's reference
    path (full precision, contiguous, plain Adam) unless `path` (bench/bench_models.py PATHS) says otherwise."""
    cfg = TrainConfig(device="cpu", images=images, **(PATHS["reference"] | (path or {})))
    for k, v in (type(recipe).defaults | {f"train.{k}": v for k, v in train.items()}).items():
        if k.startswith("train."):
            cfg = override(cfg, k.removeprefix("train."), v)
    return Engine.build(recipe, cfg)


def ours_step(recipe, eng: Engine, batch: dict, t: Progress) -> dict:
    """One Engine.step; returns the first forward's outputs ("out") and each group's loss terms."""
    rec: dict = {}
    forward, losses = recipe.forward, recipe.losses

    def fwd(b, tt):
        return rec.setdefault("out", forward(b, tt)) if "out" not in rec else forward(b, tt)

    def los(group, b, out, tt):
        terms = losses(group, b, out, tt)
        rec[group] = {k: v.detach() for k, v in terms.items()}
        return terms

    recipe.forward, recipe.losses = fwd, los
    try:
        eng.step(recipe, lambda bs: batch, t, grad_norm=False)
    finally:
        del recipe.forward, recipe.losses
    return rec


def images(k: int, n: int, size: int, *keys: str) -> dict:
    g = torch.Generator().manual_seed(k)
    return {key: torch.rand(n, 3, size, size, generator=g) * 2 - 1 for key in keys}


def labels(k: int, n: int, size: int, classes: int = 5) -> dict:
    """A label map and an instance map of blocks (so edges are sparse), and a photo."""
    g = torch.Generator().manual_seed(100 + k)
    block = lambda hi: torch.randint(0, hi, (n, size // 8, size // 8), generator=g).repeat_interleave(8, 1)  # noqa: E731
    return {"label": block(classes).repeat_interleave(8, 2), "instance": block(3).repeat_interleave(8, 2),
            "b": torch.rand(n, 3, size, size, generator=g) * 2 - 1}  # fmt: skip


def states(cmp: Comparison, k: int, steps: int, nets: dict, pairs: dict) -> None:
    for when in ([1] if k == 0 else []) + ([steps] if k == steps - 1 else []):
        for name, (ours, theirs) in nets.items():
            cmp.states(f"{name} after {when} step{'s' * (when > 1)}", ours, theirs, pairs[name])


def check(peer: Peer, s: Setup, cmp: Comparison, steps: int, images_: int, compare, **train) -> Comparison:
    """Transplant, then `steps` steps of both sides on the same batches and draws; `compare(cmp, rec, theirs,
    batch)` adds each step's outputs and losses (rec: ours_step's record, theirs: what ref_step returned)."""
    ours = s.ours()
    eng = engine(ours, images_, **train)
    nets, pairs = s.nets(ours), s.transplant(ours)
    for k in range(steps):
        batch = s.batch(k)
        seed(k)
        with peer:
            theirs = s.ref_step(batch)
        seed(k)
        compare(cmp, ours_step(ours, eng, batch, Progress(k, k * s.bs, images_)), theirs, batch)
        states(cmp, k, steps, nets, pairs)
    return cmp


def add_losses(cmp: Comparison, rec: dict, pairs) -> None:
    for ours_key, theirs in pairs:
        group, term = ours_key.split("/")
        cmp.add(f"loss {ours_key}", rec[group][term], theirs)


def junyanz_opt(**kw) -> SimpleNamespace:
    base = dict(isTrain=True, checkpoints_dir="/nonexistent", name="parity", device=torch.device("cpu"),
                preprocess="resize_and_crop", input_nc=3, output_nc=3, ngf=16, ndf=16, netD="basic", n_layers_D=3,
                init_type="normal", init_gain=0.02, lr=2e-4, beta1=0.5, direction="AtoB")  # fmt: skip
    return SimpleNamespace(**(base | kw))


def junyanz_step(ref) -> Callable[[dict], Any]:
    def step(batch: dict):
        ref.set_input({"A": batch["a"], "B": batch["b"], "A_paths": [], "B_paths": []})
        ref.optimize_parameters()
        return ref

    return step


def setup_pix2pix(peer: Peer, size: int, bs: int, full: bool, perturb: float = 0.0) -> Setup:
    """junyanz Pix2PixModel: UnetGenerator with log2(size) downsamplings (unet_128 / unet_256 at those sizes), batch
    norm, dropout, 70x70 PatchGAN, vanilla GAN, L1 x 100. Other sizes than 128 and 256: the reference's own
    UnetGenerator with log2(size) downsamplings, built through define_G's unet_256."""
    width, downs = 64 if full else 16, int(math.log2(size))
    name = {128: "unet_128", 256: "unet_256"}.get(size, "unet_256")
    opt = junyanz_opt(netG=name, ngf=width, ndf=width, norm="batch", no_dropout=False, gan_mode="vanilla",
                      lambda_L1=100.0, pool_size=0)  # fmt: skip
    with peer:
        networks = importlib.import_module("models.networks")
        unet = networks.UnetGenerator

        def once(i, o, _n, *a, **k):  # the class again first: its __init__ calls super(UnetGenerator, self)
            networks.UnetGenerator = unet
            return unet(i, o, downs, *a, **k)

        networks.UnetGenerator = once
        try:
            ref = importlib.import_module("models.pix2pix_model").Pix2PixModel(opt)
        finally:
            networks.UnetGenerator = unet
    cfg = Pix2PixConfig(g=UNetConfig(num_downs=downs, ngf=width), d=PatchDConfig(ndf=width),
                        lambda_l1=100.0 * (1 + perturb))  # fmt: skip
    return Setup(ref, junyanz_step(ref), lambda: Pix2Pix(cfg, DataFacts(3, 3, 0, size, "paired")),
                 lambda o: {"G": (o.nets["G"], ref.netG), "D": (o.nets["D"], ref.netD)},
                 lambda k: images(k, bs, size, "a", "b"), bs)  # fmt: skip


def pix2pix(peer: Peer, cmp: Comparison, steps: int, perturb: float) -> Comparison:
    """setup_pix2pix at 128 px (unet_128), ngf = ndf = 16, batch 2."""

    def compare(cmp, rec, ref, batch):
        cmp.add("forward fake_b", rec["out"]["fake_b"], ref.fake_B)
        add_losses(cmp, rec, (("d/fake", 0.5 * ref.loss_D_fake), ("d/real", 0.5 * ref.loss_D_real),
                              ("g/gan", ref.loss_G_GAN), ("g/l1", ref.loss_G_L1)))  # fmt: skip

    return check(peer, setup_pix2pix(peer, 128, 2, False, perturb), cmp, steps, LONG, compare)


def setup_cyclegan(peer: Peer, size: int, bs: int, full: bool, perturb: float = 0.0) -> Setup:
    """junyanz CycleGANModel: ResnetGenerator (resnet_9blocks ngf 64 full, resnet_6blocks ngf 16 otherwise), instance
    norm, 70x70 PatchGAN, LSGAN, image pool (50 full, 1 otherwise), cycle x 10, identity x 0.5."""
    width, blocks, pool = (64, 9, 50) if full else (16, 6, 1)
    opt = junyanz_opt(netG=f"resnet_{blocks}blocks", ngf=width, ndf=width, norm="instance", no_dropout=True,
                      gan_mode="lsgan", pool_size=pool, lambda_A=10.0, lambda_B=10.0, lambda_identity=0.5)  # fmt: skip
    with peer:
        ref = importlib.import_module("models.cycle_gan_model").CycleGANModel(opt)
    cfg = CycleGANConfig(g=ResnetConfig(n_blocks=blocks, ngf=width), d=PatchDConfig(norm="instance", ndf=width),
                         pool_size=pool, lambda_a=10.0 * (1 + perturb))  # fmt: skip
    nets = lambda o: {"G_ab": (o.nets["G_ab"], ref.netG_A), "G_ba": (o.nets["G_ba"], ref.netG_B),  # noqa: E731
                      "D_b": (o.nets["D_b"], ref.netD_A), "D_a": (o.nets["D_a"], ref.netD_B)}  # fmt: skip
    return Setup(ref, junyanz_step(ref), lambda: CycleGAN(cfg, DataFacts(3, 3, 0, size, "unpaired")), nets,
                 lambda k: images(k, bs, size, "a", "b"), bs)  # fmt: skip


def cyclegan(peer: Peer, cmp: Comparison, steps: int, perturb: float) -> Comparison:
    """setup_cyclegan at 64 px: resnet_6blocks, ngf = ndf = 16, pool 1, batch 1."""

    def compare(cmp, rec, ref, batch):
        for key, theirs in (("fake_b", ref.fake_B), ("fake_a", ref.fake_A), ("rec_a", ref.rec_A),
                            ("rec_b", ref.rec_B)):  # fmt: skip
            cmp.add(f"forward {key}", rec["out"][key], theirs)
        add_losses(cmp, rec, (("g/gan_b", ref.loss_G_A), ("g/gan_a", ref.loss_G_B), ("g/cycle_a", ref.loss_cycle_A),
                              ("g/cycle_b", ref.loss_cycle_B), ("g/idt_b", ref.loss_idt_A),
                              ("g/idt_a", ref.loss_idt_B)))  # fmt: skip
        d = rec["d"]
        cmp.add("loss d/b_real + d/b_fake", d["b_real"] + d["b_fake"], ref.loss_D_A)
        cmp.add("loss d/a_real + d/a_fake", d["a_real"] + d["a_fake"], ref.loss_D_B)

    return check(peer, setup_cyclegan(peer, 64, 1, False, perturb), cmp, steps, LONG, compare)


def _vgg_file(tmp: str) -> tuple[nn.Module, str]:
    """Random VGG19 features (seeded) and a weight file of them for ganbench's loader."""
    torch.manual_seed(7)
    feats = vgg19_features()
    path = str(Path(tmp) / "vgg19_features.pth")
    torch.save(feats.state_dict(), path)
    return feats, path


def setup_pix2pixhd(peer: Peer, size: int, bs: int, full: bool, perturb: float = 0.0) -> Setup:
    """NVIDIA Pix2PixHDModel (global G, 2-scale D with features, LSGAN, feature matching and VGG x lambda_feat)
    stepped by train.py's loop body; full: ngf = ndf = 64, 4 downsamplings, 9 blocks, 35 classes (otherwise 16, 3,
    2, 5 classes). Its encode_input is CUDA-only (torch.cuda.FloatTensor): it is replaced by the identity, and the
    step gets the semantic input (one-hot labels + instance edges) that ganbench's semantic_input builds, inside
    the step as ganbench's forward builds it."""
    width, downs, blocks, classes = (64, 4, 9, 35) if full else (16, 3, 2, 5)
    tmp = tempfile.TemporaryDirectory()
    feats, vgg_path = _vgg_file(tmp.name)
    opt = SimpleNamespace(isTrain=True, gpu_ids=[], checkpoints_dir="/nonexistent", name="parity",
                          resize_or_crop="none", instance_feat=False, label_feat=False, load_features=False,
                          label_nc=0, input_nc=classes + 1, no_instance=True, output_nc=3, ngf=width, netG="global",
                          n_downsample_global=downs, n_blocks_global=blocks, n_local_enhancers=1, n_blocks_local=3,
                          norm="instance", no_lsgan=False, ndf=width, n_layers_D=3, num_D=2, no_ganFeat_loss=False,
                          continue_train=False, load_pretrain="", pool_size=0, lr=2e-4, beta1=0.5,
                          no_vgg_loss=False, lambda_feat=10.0, niter_fix_global=0, verbose=False, fp16=False,
                          data_type=32)  # fmt: skip
    with peer, offline(feats):
        ref = importlib.import_module("models.pix2pixHD_model").Pix2PixHDModel()
        ref.initialize(opt)
    ref.encode_input = lambda label, inst=None, image=None, feat=None, infer=False: (label, inst, image, feat)
    cfg = Pix2PixHDConfig(g=GlobalConfig(ngf=width, n_downsampling=downs, n_blocks=blocks),
                          d=MultiscaleDConfig(ndf=width), lambda_feat=10.0 * (1 + perturb),
                          vgg_weights=vgg_path)  # fmt: skip
    body = loop_body(peer.root / "train.py", "losses, generated = model(", "optimizer_D.step()")
    model = type("DataParallelLike", (), {"__call__": lambda self, *a, **k: ref(*a, **k), "module": ref})()

    def step(batch: dict) -> dict:
        ns = {"model": model, "Variable": torch.autograd.Variable, "save_fake": True, "torch": torch, "opt": opt,
              "optimizer_G": ref.optimizer_G, "optimizer_D": ref.optimizer_D,
              "data": {"label": semantic_input(batch, classes, True), "inst": torch.zeros(1), "image": batch["b"],
                       "feat": torch.zeros(1)}}  # fmt: skip
        exec(body, ns)  # noqa: S102 - the reference's own loop body
        return ns

    def d_key(k: str) -> str:  # the reference runs its scale{num_D-1-i} on the input pooled i times
        i, rest = re.fullmatch(r"scales\.(\d+)\.layers\.(.*)", k).groups()
        j, tail = rest.split(".", 1)
        return f"scale{opt.num_D - 1 - int(i)}_layer{j}.{tail}"

    return Setup(ref, step, lambda: Pix2PixHD(cfg, DataFacts(0, 3, classes, size, "paired", instances=True)),
                 lambda o: {"G": (o.nets["G"], ref.netG), "D": (o.nets["D"], ref.netD)},
                 lambda k: labels(k, bs, size, classes), bs, {"D": d_key}, tmp)  # fmt: skip


def pix2pixhd(peer: Peer, cmp: Comparison, steps: int, perturb: float) -> Comparison:
    """setup_pix2pixhd at 64 px: ngf = ndf = 16, 3 downsamplings, 2 blocks, 5 classes, batch 1."""

    def compare(cmp, rec, ns, batch):
        ld = ns["loss_dict"]
        cmp.add("forward fake_b", rec["out"]["fake_b"], ns["generated"])
        add_losses(cmp, rec, (("g/gan", ld["G_GAN"]), ("g/feat", ld["G_GAN_Feat"]), ("g/vgg", ld["G_VGG"]),
                              ("d/real", 0.5 * ld["D_real"]), ("d/fake", 0.5 * ld["D_fake"])))  # fmt: skip

    return check(peer, setup_pix2pixhd(peer, 64, 1, False, perturb), cmp, steps, LONG, compare)


def spade_data(batch: dict) -> dict:
    """A batch in SPADE's keys (its dataset's label and instance maps have a channel axis)."""
    return {"label": batch["label"][:, None], "instance": batch["instance"][:, None], "image": batch["b"], "path": []}


def setup_spade(peer: Peer, size: int, bs: int, full: bool, perturb: float = 0.0) -> Setup:
    """NVlabs Pix2PixTrainer (SPADE G with spectral norm and sync batch norm, 2-scale D with spectral and instance
    norm, hinge, feature matching, VGG, TTUR; VAE encoder and KLD where on), one run_generator_one_step and one
    run_discriminator_one_step per step; full: ngf = ndf = 64, 35 classes, VAE off (the reference's default),
    otherwise ngf 4, ndf 8, 5 classes, VAE on. Under float64 its tensor factories (torch.FloatTensor) are set to
    float64. The encoder is built from the options with crop_size 256 (its input size: the reference's own
    encoder adds its last layer only at crop >= 256), the rest at `size`, as ganbench's e.size 256."""
    ngf, ndf, classes, vae = (64, 64, 35, False) if full else (4, 8, 5, True)
    tmp = tempfile.TemporaryDirectory()
    feats, vgg_path = _vgg_file(tmp.name)
    opt = SimpleNamespace(isTrain=True, gpu_ids=[], checkpoints_dir="/nonexistent", name="parity",
                          which_epoch="latest", continue_train=False, norm_G="spectralspadesyncbatch3x3",
                          norm_D="spectralinstance", norm_E="spectralinstance", netG="spade", netD="multiscale",
                          netD_subarch="n_layer", num_D=2, n_layers_D=4, ngf=ngf, ndf=ndf, label_nc=classes,
                          semantic_nc=classes + 1, contain_dontcare_label=False, no_instance=False, output_nc=3,
                          crop_size=size, aspect_ratio=1.0, num_upsampling_layers="normal", use_vae=vae, z_dim=256,
                          init_type="xavier", init_variance=0.02, gan_mode="hinge", no_ganFeat_loss=False,
                          no_vgg_loss=False, lambda_feat=10.0, lambda_vgg=10.0, lambda_kld=0.05, lr=2e-4,
                          beta1=0.0, beta2=0.9, no_TTUR=False)  # fmt: skip
    with peer, offline(feats):
        networks = importlib.import_module("models.networks")
        define_e = networks.define_E
        networks.define_E = lambda o: define_e(SimpleNamespace(**(vars(o) | {"crop_size": 256})))
        try:
            trainer = importlib.import_module("trainers.pix2pix_trainer").Pix2PixTrainer(opt)
        finally:
            networks.define_E = define_e
    ref = trainer.pix2pix_model
    if torch.get_default_dtype() == torch.float64:
        ref.FloatTensor = ref.criterionGAN.Tensor = torch.DoubleTensor
    cfg = SPADEConfig(g=SPADEGConfig(ngf=ngf, nhidden=128), e=EncoderConfig(size=256), d=SPADEDConfig(ndf=ndf),
                      use_vae=vae, lambda_feat=10.0 * (1 + perturb), vgg_weights=vgg_path)  # fmt: skip

    def step(batch: dict):
        trainer.run_generator_one_step(spade_data(batch))
        trainer.run_discriminator_one_step(spade_data(batch))
        return trainer

    return Setup(trainer, step, lambda: Spade(cfg, DataFacts(0, 3, classes, size, "paired", instances=True)),
                 lambda o: {n: (o.nets[n], getattr(ref, f"net{n}")) for n in ("G", "E", "D") if n in o.nets},
                 lambda k: labels(k, bs, size, classes), bs, keep=tmp)  # fmt: skip


def spade(peer: Peer, cmp: Comparison, steps: int, perturb: float) -> Comparison:
    """setup_spade at 64 px: ngf 4 (with its fixed 128-wide SPADE MLPs), ndf 8, 5 classes, VAE on, batch 1; a run as
    long as the comparison, so that a decaying lr would show."""
    s = setup_spade(peer, 64, 1, False, perturb)

    def compare(cmp, rec, trainer, batch):
        with peer:
            semantics = trainer.pix2pix_model.preprocess_input(spade_data(batch))[0]
        cmp.add("input (one-hot + edges)", rec["out"]["input"], semantics)
        cmp.add("forward fake_b", rec["out"]["fake_b"], trainer.get_latest_generated())
        g, d = trainer.g_losses, trainer.d_losses
        add_losses(cmp, rec, (("g/kld", g["KLD"]), ("g/gan", g["GAN"]), ("g/feat", g["GAN_Feat"]),
                              ("g/vgg", g["VGG"]), ("d/fake", d["D_Fake"]), ("d/real", d["D_real"])))  # fmt: skip

    return check(peer, s, cmp, steps, steps * s.bs, compare)


def setup_dcgan(peer: Peer, size: int, bs: int, full: bool, perturb: float = 0.0) -> Setup:
    """pytorch/examples dcgan/main.py: its weights_init, Generator and Discriminator (64 px only, nz 100, ngf = ndf
    = 64: its own widths, full or not), its criterion, labels and Adam settings at the script's defaults, and its
    loop body from `netD.zero_grad()` through `optimizerG.step()` (the script itself is never run). No loss weight
    to perturb: `perturb` is unused (dcgan() sets label smoothing on the engine instead)."""
    nz = 100
    script = peer.root / "dcgan" / "main.py"
    ns = definitions(script, ("weights_init", "Generator", "Discriminator"),
                     {"nn": nn, "torch": torch, "nz": nz, "ngf": 64, "ndf": 64, "nc": 3})  # fmt: skip
    netG, netD = ns["Generator"](0).apply(ns["weights_init"]), ns["Discriminator"](0).apply(ns["weights_init"])
    setup = definitions(script, ("criterion", "real_label", "fake_label", "optimizerD", "optimizerG"),
                        {"nn": nn, "optim": torch.optim, "netD": netD, "netG": netG,
                         "opt": SimpleNamespace(lr=0.0002, beta1=0.5)})  # fmt: skip
    body = loop_body(script, "netD.zero_grad()", "optimizerG.step()")

    def step(batch: dict) -> dict:
        loop = setup | {"data": [batch["b"]], "device": torch.device("cpu"), "torch": torch, "nz": nz}
        exec(body, loop)  # noqa: S102 - the reference's own loop body
        return loop

    facts = DataFacts(0, 3, 0, size, "unconditional", shape=(3, size, size))
    return Setup(setup, step, lambda: ToyGAN(ToyConfig(arch="dcgan", nz=nz, ngf=64, ndf=64), facts),
                 lambda o: {"G": (o.nets["G"], netG), "D": (o.nets["D"], netD)},
                 lambda k: images(k, bs, size, "b"), bs)  # fmt: skip


def dcgan(peer: Peer, cmp: Comparison, steps: int, perturb: float) -> Comparison:
    """setup_dcgan at 64 px, batch 4; --perturb: label smoothing 1e-5 (D's real target 1 - 1e-5)."""

    def compare(cmp, rec, loop, batch):
        cmp.add("forward fake_b", rec["out"]["fake_b"], loop["fake"])
        add_losses(cmp, rec, (("d/real", loop["errD_real"]), ("d/fake", loop["errD_fake"]), ("g/gan", loop["errG"])))

    smoothing = {"tricks.label_smoothing": perturb} if perturb else {}
    return check(peer, setup_dcgan(peer, 64, 4, False), cmp, steps, LONG, compare, **smoothing)
