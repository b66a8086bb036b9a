"""The five parity checks of bench/parity.py, one function per family: (peer, comparison, steps, perturb).

Each builds the reference's nets and training step with the reference's own classes and code (the model classes'
__init__ with an options namespace, optimize_parameters or the trainer, the loop body of the script where the step
lives there; machinery in bench/parity_core.py), transplants the weights into ganbench's recipe, and steps both
sides with the same batches and the same random draws. ganbench's side is its recipe with the recipe's defaults,
stepped by the loop's Engine. Departures from each reference's default run, all for speed on one CPU core and none
in the code compared: narrower nets (ngf/ndf 16, fewer blocks; DCGAN at its own 64), 64 px (pix2pix 128 px, the
reference's unet_128), label maps of 5 classes with instance edges, random VGG19 weights handed to both sides (the
reference would download them), a CycleGAN pool of 1 image so that the swap rule runs from the second step, and the
reference's GPU-only input encoders (pix2pixHD's encode_input, the VAE encoder's 256 px crop option of SPADE)
replaced as said at each.
"""

from __future__ import annotations

import importlib
import re
import tempfile
from pathlib import Path
from types import SimpleNamespace

import torch
from torch import nn

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


def engine(recipe, images: int, **train) -> Engine:
    """The loop's Engine for `recipe` with the recipe's own train.* defaults, on the CPU in full precision."""
    cfg = TrainConfig(device="cpu", amp=False, channels_last=False, images=images)
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


def junyanz_opt(**kw) -> SimpleNamespace:
    base = dict(isTrain=True, checkpoints_dir="/nonexistent", name="parity", device=torch.device("cpu"),
                preprocess="resize_and_crop", input_nc=3, output_nc=3, ngf=16, ndf=16, netD="basic", n_layers_D=3,
                init_type="normal", init_gain=0.02, lr=2e-4, beta1=0.5, direction="AtoB")  # fmt: skip
    return SimpleNamespace(**(base | kw))


def pix2pix(peer: Peer, cmp: Comparison, steps: int, perturb: float) -> Comparison:
    """junyanz Pix2PixModel (unet_128, batch norm, dropout, vanilla GAN, L1 x 100) at 128 px, batch 2."""
    size, bs = 128, 2
    opt = junyanz_opt(netG="unet_128", norm="batch", no_dropout=False, gan_mode="vanilla", lambda_L1=100.0,
                      pool_size=0)  # fmt: skip
    with peer:
        ref = importlib.import_module("models.pix2pix_model").Pix2PixModel(opt)
    cfg = Pix2PixConfig(g=UNetConfig(num_downs=7, ngf=16), d=PatchDConfig(ndf=16), lambda_l1=100.0 * (1 + perturb))
    ours = Pix2Pix(cfg, DataFacts(3, 3, 0, size, "paired"))
    eng = engine(ours, LONG)
    nets = {"G": (ours.nets["G"], ref.netG), "D": (ours.nets["D"], ref.netD)}
    pairs = {n: transplant(o, t) for n, (o, t) in nets.items()}
    for k in range(steps):
        batch = images(k, bs, size, "a", "b")
        seed(k)
        with peer:
            ref.set_input({"A": batch["a"], "B": batch["b"], "A_paths": [], "B_paths": []})
            ref.optimize_parameters()
        seed(k)
        rec = ours_step(ours, eng, batch, Progress(k, k * bs, LONG))
        cmp.add("forward fake_b", rec["out"]["fake_b"], ref.fake_B)
        for ours_key, theirs in (("d/fake", 0.5 * ref.loss_D_fake), ("d/real", 0.5 * ref.loss_D_real),
                                 ("g/gan", ref.loss_G_GAN), ("g/l1", ref.loss_G_L1)):  # fmt: skip
            group, term = ours_key.split("/")
            cmp.add(f"loss {ours_key}", rec[group][term], theirs)
        states(cmp, k, steps, nets, pairs)
    return cmp


def cyclegan(peer: Peer, cmp: Comparison, steps: int, perturb: float) -> Comparison:
    """junyanz CycleGANModel (resnet_6blocks, instance norm, LSGAN, cycle x 10, identity x 0.5) at 64 px."""
    size = 64
    opt = junyanz_opt(netG="resnet_6blocks", norm="instance", no_dropout=True, gan_mode="lsgan", pool_size=1,
                      lambda_A=10.0, lambda_B=10.0, lambda_identity=0.5)  # fmt: skip
    with peer:
        ref = importlib.import_module("models.cycle_gan_model").CycleGANModel(opt)
    cfg = CycleGANConfig(g=ResnetConfig(n_blocks=6, ngf=16), d=PatchDConfig(norm="instance", ndf=16), pool_size=1,
                         lambda_a=10.0 * (1 + perturb))  # fmt: skip
    ours = CycleGAN(cfg, DataFacts(3, 3, 0, size, "unpaired"))
    eng = engine(ours, LONG)
    nets = {"G_ab": (ours.nets["G_ab"], ref.netG_A), "G_ba": (ours.nets["G_ba"], ref.netG_B),
            "D_b": (ours.nets["D_b"], ref.netD_A), "D_a": (ours.nets["D_a"], ref.netD_B)}  # fmt: skip
    pairs = {n: transplant(o, t) for n, (o, t) in nets.items()}
    for k in range(steps):
        batch = images(k, 1, size, "a", "b")
        seed(k)
        with peer:
            ref.set_input({"A": batch["a"], "B": batch["b"], "A_paths": [], "B_paths": []})
            ref.optimize_parameters()
        seed(k)
        rec = ours_step(ours, eng, batch, Progress(k, k, LONG))
        for key, theirs in (("fake_b", ref.fake_B), ("fake_a", ref.fake_A), ("rec_a", ref.rec_A),
                            ("rec_b", ref.rec_B)):  # fmt: skip
            cmp.add(f"forward {key}", rec["out"][key], theirs)
        g, d = rec["g"], rec["d"]
        for key, theirs in (
            ("gan_b", ref.loss_G_A),
            ("gan_a", ref.loss_G_B),
            ("cycle_a", ref.loss_cycle_A),
            ("cycle_b", ref.loss_cycle_B),
            ("idt_b", ref.loss_idt_A),
            ("idt_a", ref.loss_idt_B),
        ):
            cmp.add(f"loss g/{key}", g[key], theirs)
        cmp.add("loss d/b_real + d/b_fake", d["b_real"] + d["b_fake"], ref.loss_D_A)
        cmp.add("loss d/a_real + d/a_fake", d["a_real"] + d["a_fake"], ref.loss_D_B)
        states(cmp, k, steps, nets, pairs)
    return cmp


def _vgg_file(tmp: str) -> tuple[nn.Module, str]:
    """Random VGG19 features (seeded) and a weight file of them for ganbench's loader."""
    torch.manual_seed(7)
    feats = vgg19_features()
    path = str(Path(tmp) / "vgg19_features.pth")
    torch.save(feats.state_dict(), path)
    return feats, path


def pix2pixhd(peer: Peer, cmp: Comparison, steps: int, perturb: float) -> Comparison:
    """NVIDIA Pix2PixHDModel (global G, 2-scale D with features, LSGAN, feature matching and VGG x lambda_feat)
    stepped by train.py's loop body. Its encode_input is CUDA-only (torch.cuda.FloatTensor): it is replaced by
    the identity on a semantic input (one-hot labels + instance edges) that ganbench's semantic_input builds."""
    size, bs = 64, 1
    with tempfile.TemporaryDirectory() as tmp:
        feats, vgg_path = _vgg_file(tmp)
        opt = SimpleNamespace(isTrain=True, gpu_ids=[], checkpoints_dir="/nonexistent", name="parity",
                              resize_or_crop="none", instance_feat=False, label_feat=False, load_features=False,
                              label_nc=0, input_nc=6, no_instance=True, output_nc=3, ngf=16, netG="global",
                              n_downsample_global=3, n_blocks_global=2, n_local_enhancers=1, n_blocks_local=3,
                              norm="instance", no_lsgan=False, ndf=16, n_layers_D=3, num_D=2, no_ganFeat_loss=False,
                              continue_train=False, load_pretrain="", pool_size=0, lr=2e-4, beta1=0.5,
                              no_vgg_loss=False, lambda_feat=10.0, niter_fix_global=0, verbose=False, fp16=False,
                              data_type=32)  # fmt: skip
        with peer, offline(feats):
            ref = importlib.import_module("models.pix2pixHD_model").Pix2PixHDModel()
            ref.initialize(opt)
        ref.encode_input = lambda label, inst=None, image=None, feat=None, infer=False: (label, inst, image, feat)
        cfg = Pix2PixHDConfig(g=GlobalConfig(ngf=16, n_downsampling=3, n_blocks=2), d=MultiscaleDConfig(ndf=16),
                              lambda_feat=10.0 * (1 + perturb), vgg_weights=vgg_path)  # fmt: skip
        ours = Pix2PixHD(cfg, DataFacts(0, 3, 5, size, "paired", instances=True))
    eng = engine(ours, LONG)
    body = loop_body(peer.root / "train.py", "losses, generated = model(", "optimizer_D.step()")

    def d_key(k: str) -> str:  # the reference runs its scale{num_D-1-i} on the input pooled i times
        i, rest = re.fullmatch(r"scales\.(\d+)\.layers\.(.*)", k).groups()
        j, tail = rest.split(".", 1)
        return f"scale{opt.num_D - 1 - int(i)}_layer{j}.{tail}"

    nets = {"G": (ours.nets["G"], ref.netG), "D": (ours.nets["D"], ref.netD)}
    pairs = {"G": transplant(ours.nets["G"], ref.netG), "D": transplant(ours.nets["D"], ref.netD, d_key)}
    model = type("DataParallelLike", (), {"__call__": lambda self, *a, **k: ref(*a, **k), "module": ref})()
    for k in range(steps):
        batch = labels(k, bs, size)
        x = semantic_input(batch, 5, True)
        ns = {"model": model, "Variable": torch.autograd.Variable, "save_fake": True, "torch": torch,
              "opt": opt, "optimizer_G": ref.optimizer_G, "optimizer_D": ref.optimizer_D,
              "data": {"label": x, "inst": torch.zeros(1), "image": batch["b"], "feat": torch.zeros(1)}}  # fmt: skip
        seed(k)
        with peer:
            exec(body, ns)  # noqa: S102 - the reference's own loop body
        seed(k)
        rec = ours_step(ours, eng, batch, Progress(k, k * bs, LONG))
        ld = ns["loss_dict"]
        cmp.add("forward fake_b", rec["out"]["fake_b"], ns["generated"])
        for ours_key, theirs in (("g/gan", ld["G_GAN"]), ("g/feat", ld["G_GAN_Feat"]), ("g/vgg", ld["G_VGG"]),
                                 ("d/real", 0.5 * ld["D_real"]), ("d/fake", 0.5 * ld["D_fake"])):  # fmt: skip
            group, term = ours_key.split("/")
            cmp.add(f"loss {ours_key}", rec[group][term], theirs)
        states(cmp, k, steps, nets, pairs)
    return cmp


def spade(peer: Peer, cmp: Comparison, steps: int, perturb: float) -> Comparison:
    """NVlabs Pix2PixTrainer (SPADE G with spectral norm and sync batch norm, VAE encoder, 2-scale D with spectral
    and instance norm, hinge, feature matching, VGG, KLD, TTUR), one run_generator_one_step and one
    run_discriminator_one_step per step. Its tensor factories are float32 (torch.FloatTensor): set to float64.
    The encoder is built from the options with crop_size 256 (its input size: the reference's own encoder adds
    its last layer only at crop >= 256), the rest at 64 px, as ganbench's e.size 256 at 64 px."""
    size, bs = 64, 1
    with tempfile.TemporaryDirectory() as tmp:
        feats, vgg_path = _vgg_file(tmp)
        opt = SimpleNamespace(isTrain=True, gpu_ids=[], checkpoints_dir="/nonexistent", name="parity",
                              which_epoch="latest", continue_train=False, norm_G="spectralspadesyncbatch3x3",
                              norm_D="spectralinstance", norm_E="spectralinstance", netG="spade", netD="multiscale",
                              netD_subarch="n_layer", num_D=2, n_layers_D=4, ngf=4, ndf=8, label_nc=5, semantic_nc=6,
                              contain_dontcare_label=False, no_instance=False, output_nc=3, crop_size=size,
                              aspect_ratio=1.0, num_upsampling_layers="normal", use_vae=True, z_dim=256,
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
        ref.FloatTensor = ref.criterionGAN.Tensor = torch.DoubleTensor
        cfg = SPADEConfig(g=SPADEGConfig(ngf=4, nhidden=128), e=EncoderConfig(size=256), d=SPADEDConfig(ndf=8),
                          use_vae=True, lambda_feat=10.0 * (1 + perturb), vgg_weights=vgg_path)  # fmt: skip
        ours = Spade(cfg, DataFacts(0, 3, 5, size, "paired", instances=True))
    eng = engine(ours, steps * bs)  # a run as long as the comparison: a decaying lr would show
    nets = {"G": (ours.nets["G"], ref.netG), "E": (ours.nets["E"], ref.netE), "D": (ours.nets["D"], ref.netD)}
    pairs = {n: transplant(o, t) for n, (o, t) in nets.items()}
    for k in range(steps):
        batch = labels(k, bs, size)
        data = lambda b=batch: {"label": b["label"][:, None], "instance": b["instance"][:, None],  # noqa: E731
                                "image": b["b"], "path": []}  # fmt: skip
        seed(k)
        with peer:
            trainer.run_generator_one_step(data())
            trainer.run_discriminator_one_step(data())
            semantics = ref.preprocess_input(data())[0]
        seed(k)
        rec = ours_step(ours, eng, batch, Progress(k, k * bs, steps * bs))
        cmp.add("input (one-hot + edges)", rec["out"]["input"], semantics)
        cmp.add("forward fake_b", rec["out"]["fake_b"], trainer.get_latest_generated())
        g, d = trainer.g_losses, trainer.d_losses
        for ours_key, theirs in (("g/kld", g["KLD"]), ("g/gan", g["GAN"]), ("g/feat", g["GAN_Feat"]),
                                 ("g/vgg", g["VGG"]), ("d/fake", d["D_Fake"]), ("d/real", d["D_real"])):  # fmt: skip
            group, term = ours_key.split("/")
            cmp.add(f"loss {ours_key}", rec[group][term], theirs)
        states(cmp, k, steps, nets, pairs)
    return cmp


def dcgan(peer: Peer, cmp: Comparison, steps: int, perturb: float) -> Comparison:
    """pytorch/examples dcgan/main.py: its weights_init, Generator and Discriminator (64 px, nz 100, ngf = ndf =
    64), its criterion, labels and Adam settings at the script's defaults, and its loop body from `netD.zero_grad()`
    through `optimizerG.step()` (the script itself is never run). No loss weight to perturb: --perturb sets
    one-sided label smoothing 1e-5 instead (D's real target 1 - 1e-5)."""
    size, bs, nz = 64, 4, 100
    script = peer.root / "dcgan" / "main.py"
    ns = definitions(script, ("weights_init", "Generator", "Discriminator"),
                     {"nn": nn, "torch": torch, "nz": nz, "ngf": 64, "ndf": 64, "nc": 3})  # fmt: skip
    netG, netD = ns["Generator"](0).apply(ns["weights_init"]), ns["Discriminator"](0).apply(ns["weights_init"])
    setup = definitions(script, ("criterion", "real_label", "fake_label", "optimizerD", "optimizerG"),
                        {"nn": nn, "optim": torch.optim, "netD": netD, "netG": netG,
                         "opt": SimpleNamespace(lr=0.0002, beta1=0.5)})  # fmt: skip
    body = loop_body(script, "netD.zero_grad()", "optimizerG.step()")
    ours = ToyGAN(ToyConfig(arch="dcgan", nz=nz, ngf=64, ndf=64), DataFacts(0, 3, 0, size, "unconditional",
                                                                       shape=(3, size, size)))  # fmt: skip
    eng = engine(ours, LONG, **({"tricks.label_smoothing": perturb} if perturb else {}))
    nets = {"G": (ours.nets["G"], netG), "D": (ours.nets["D"], netD)}
    pairs = {n: transplant(o, t) for n, (o, t) in nets.items()}
    for k in range(steps):
        real = images(k, bs, size, "b")["b"]
        loop = setup | {"data": [real], "device": torch.device("cpu"), "torch": torch, "nz": nz}
        seed(k)
        exec(body, loop)  # noqa: S102 - the reference's own loop body
        seed(k)
        rec = ours_step(ours, eng, {"b": real}, Progress(k, k * bs, LONG))
        cmp.add("forward fake_b", rec["out"]["fake_b"], loop["fake"])
        for ours_key, theirs in (("d/real", loop["errD_real"]), ("d/fake", loop["errD_fake"]), ("g/gan", loop["errG"])):
            group, term = ours_key.split("/")
            cmp.add(f"loss {ours_key}", rec[group][term], theirs)
        states(cmp, k, steps, nets, pairs)
    return cmp
