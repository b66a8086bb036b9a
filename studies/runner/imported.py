"""Outputs made elsewhere, scored as a variant of a study: `python -m studies.run NAME --import-outputs "My G=DIR"`.

A model trained in its own repository (on the data of `--export-data`) writes one output per test item; this
module matches them to the study's test items by file stem and scores them under exactly the study's protocol:
the folder becomes a recipe whose `translate` returns the imported images (the output key of the study's recipe,
e.g. pix2pix's fake_b), so the one Evaluator scores them with the same metrics, segmenter, ceiling and per-item
files as the trained variants, and the statistics pair them item by item. `DIR` holds one folder per training
seed (`s0/ s1/ ...`) or the outputs of one seed; the stems understood and the checks of each file are
metrics/folders.py's (the convention found is printed). Each seed becomes a run directory `<name>-s<seed>` of
kind "imported", with its source folder and the SHA-256 of every file (import.json; runs.csv carries the source
and one digest).
Everything is checked before anything is written (ImportRefused names the file and what to do): missing items,
extra or duplicate stems, another study's export manifest, wrong size (`--resize bicubic|nearest`, recorded in the
protocol), a wrong channel count, a lossy format (JPEG refused unless `--allow-lossy`, recorded), an empty or
unreadable file. A re-import of the same files changes nothing; changed files replace the old rows.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from metrics import higher_is_better
from metrics import tables as T
from metrics.folders import OutputsRefused, match, read_image
from models.contract import Progress
from models.runlog import RunLog
from models.train import resolve_device
from studies.runner.execute import make_evaluator
from studies.spec import Claim, ConfigError, override, to_config

ImportRefused = OutputsRefused  # an import that cannot be scored as given (metrics/folders.py)


@dataclass
class SeedOutputs:
    seed: int
    folder: Path
    convention: str
    files: dict[int, Path]  # test item index -> file
    images: dict[int, torch.Tensor]  # test item index -> (C, H, W) in [-1, 1]
    sha256: dict[str, str]  # file name -> digest


def parse_imports(items: list[str]) -> list[tuple[str, Path]]:
    out = []
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise ImportRefused(f'--import-outputs expects "NAME=DIR", got {item!r}')
        if not re.fullmatch(r"[\w .+()x-]+", name.strip()):
            raise ImportRefused(f"--import-outputs: variant name {name!r} may hold letters, digits, spaces and _.+-()")
        out.append((name.strip(), Path(path.strip()).expanduser()))
    names = [n for n, _ in out]
    if len(set(names)) != len(names):
        raise ImportRefused(f"--import-outputs: the variant names repeat ({', '.join(names)})")
    return out


def seed_folders(root: Path) -> list[tuple[int, Path]]:
    """[(seed, folder)]: s0/ s1/ ... under root, or root itself as seed 0."""
    if not root.is_dir():
        raise ImportRefused(f"{root}: no such folder (--import-outputs NAME=DIR names the folder of the outputs)")
    seeds = sorted((int(p.name[1:]), p) for p in root.iterdir() if p.is_dir() and re.fullmatch(r"s\d+", p.name))
    return seeds or [(0, root)]


def check_manifest(folder: Path, study: str, dataset: str, size: int) -> None:
    """A manifest.json beside the outputs (copied from --export-data) must be this study's."""
    for path in (folder / "manifest.json", folder.parent / "manifest.json"):
        if path.exists():
            try:
                m = json.loads(path.read_text())
            except ValueError as e:
                raise ImportRefused(f"{path}: not a readable manifest ({e})") from e
            if m.get("study") != study or m.get("dataset") != dataset or int(m.get("size", size)) != size:
                raise ImportRefused(
                    f"{path}: these outputs belong to study {m.get('study')!r}, dataset "
                    f"{m.get('dataset')!r} at {m.get('size')} px, not {study!r}, {dataset!r} at "
                    f"{size} px: export this study's data (--export-data) and run the model on it"
                )


def load(
    root: Path, test_set, study: str, dataset: str, key_channels: int, resize: str | None, allow_lossy: bool
) -> list[SeedOutputs]:
    """Every seed's outputs, checked and decoded; nothing is written."""
    size = test_set.cfg.size
    ids = {f"{int(test_set[i]['index']):06d}": int(test_set[i]["index"]) for i in range(len(test_set))}
    out = []
    for seed, folder in seed_folders(root):
        check_manifest(folder, study, dataset, size)
        convention, files = match(folder, ids)
        images = {i: read_image(p, size, key_channels, resize, allow_lossy) for i, p in files.items()}
        digests = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files.values()}
        out.append(SeedOutputs(seed, folder, convention, files, images, digests))
    return out


class ImportedOutputs:
    """A recipe stand-in for the Evaluator: `translate` returns the imported image of each batch item."""

    modality = "image"

    def __init__(self, outputs: SeedOutputs, key: str, sample_rows: tuple, test_images: dict):
        self.outputs, self.key, self.nets = outputs, key, {}
        self.sample_rows, self.test_images = sample_rows, test_images

    def translate(self, batch: dict, t: Progress) -> dict:
        index = batch["index"]
        return {self.key: torch.stack([self.outputs.images[int(i)] for i in index]).to(index.device)}


def digest(outputs: SeedOutputs) -> str:
    """One SHA-256 over the files' names and digests (runs.csv `outputs_sha256`)."""
    return hashlib.sha256(json.dumps(sorted(outputs.sha256.items())).encode()).hexdigest()


def write_run(study: str, name: str, outputs: SeedOutputs, spec, evaluator, recipe_cls, out: Path, flags: dict) -> str:
    """Score one seed's outputs and write its run directory (atomically, moved into place); 'unchanged' when the
    same files were imported before."""
    run_dir = out / study / f"{name}-s{outputs.seed}"
    info_path = run_dir / "import.json"
    if info_path.exists() and (run_dir / "done").exists():
        old = json.loads(info_path.read_text())
        scored = {"protocols": evaluator.protocols, "weights_sha256": evaluator.weights_sha256}
        if old.get("sha256") == outputs.sha256 and old.get("flags") == flags and old.get("scored", scored) == scored:
            return "unchanged"
    tmp = run_dir.with_name(f".{run_dir.name}.importing")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    recipe = ImportedOutputs(outputs, recipe_cls.test_images["output"], recipe_cls.sample_rows, recipe_cls.test_images)
    t = Progress(0, 0, 0)
    values = evaluator.evaluate(recipe, t, tmp, final=True)
    lossy = "allowed" if flags["allow_lossy"] else "refused"
    how = f"outputs imported ({outputs.convention}; resize {flags['resize'] or 'none'}; lossy {lossy})"
    RunLog(tmp).evaluation(t, values, evaluator.protocols)
    plain = dataclasses.replace(override(spec, "train.seed", outputs.seed), model=spec.recipe_cls.Config())
    T.write_json_atomic(to_config(plain), tmp / "config.json")  # the data and protocol; no trained variant's model
    T.write_json_atomic(
        {
            "source": str(outputs.folder.resolve()),
            "convention": outputs.convention,
            "flags": flags,
            "scored": {"protocols": evaluator.protocols, "weights_sha256": evaluator.weights_sha256},
            "sha256": outputs.sha256,
        },
        tmp / "import.json",
    )
    status = {
        "status": "done",
        "error": "",
        "study": study,
        "variant": name,
        "seed": outputs.seed,
        "kind": "imported",
        "source": str(outputs.folder.resolve()),
        "outputs_sha256": digest(outputs),
        "import_protocol": how,
        "protocols": evaluator.protocols,
        "weights_sha256": evaluator.weights_sha256,
    }
    T.write_json_atomic(status, tmp / "run.json")
    (tmp / "done").touch()
    old, existed = run_dir.with_name(f".{run_dir.name}.old"), run_dir.exists()
    shutil.rmtree(old, ignore_errors=True)
    if existed:
        run_dir.rename(old)
    tmp.rename(run_dir)
    shutil.rmtree(old, ignore_errors=True)
    return "replaced" if existed else "scored"


def prune(study_dir: Path, name: str, seeds: list[int]) -> list[str]:
    """Remove the run directories of imported variant `name` whose seed is no longer imported; their ids."""
    gone = []
    for p in sorted(Path(study_dir).glob("*/run.json")):
        try:
            st = json.loads(p.read_text())
        except ValueError:
            continue
        if st.get("kind") == "imported" and st.get("variant") == name and int(st.get("seed", -1)) not in seeds:
            shutil.rmtree(p.parent)
            gone.append(p.parent.name)
    return gone


def imported_variants(study_dir: Path) -> list[str]:
    """Names of the imported variants of a study (run.json kind "imported"), in order of appearance."""
    names = []
    for p in sorted(Path(study_dir).glob("*/run.json")) if Path(study_dir).is_dir() else []:
        try:
            st = json.loads(p.read_text())
        except ValueError:
            continue
        if st.get("kind") == "imported" and st.get("variant") not in names:
            names.append(st["variant"])
    return names


def with_imports(study, out: Path, imports: list[str], claims: list[str]):
    """The study with its imported variants (found in its directory, and those of --import-outputs) and the claims
    of --claim; ConfigError on a claim naming an unknown variant or metric."""
    names = [n for n, _ in parse_imports(imports)]
    clash = [n for n in names if n in study.variants]
    if clash:
        raise ConfigError(f"--import-outputs: {clash[0]!r} is a trained variant of {study.name}; pick another name")
    extra = []
    for text in claims:
        order, sep, metric = text.rpartition(" on ")
        if not sep or " > " not in order or higher_is_better(metric.strip()) is None:
            raise ConfigError(f'--claim expects "A > B on METRIC" with a known metric, got {text!r}')
        extra.append(Claim(order.strip(), metric.strip(), "--claim"))
    imported = tuple(dict.fromkeys([*imported_variants(out / study.name), *names]))
    try:
        return dataclasses.replace(study, imported=imported, claims=(*study.claims, *extra))
    except ValueError as e:
        raise ConfigError(str(e)) from None


def import_outputs(study, spec, out: Path, builds, imports: list[str], resize: str | None, allow_lossy: bool) -> None:
    """--import-outputs: every folder checked and decoded first (ImportRefused: nothing written), then each seed
    scored under the study's protocol (`spec`: its data and evaluation) and written as a run directory."""
    _, test_set = builds.datasets(spec)
    channels = int(test_set[0]["b"].shape[0])
    flags = {"resize": resize, "allow_lossy": allow_lossy}
    loaded = [(name, load(root, test_set, study.name, spec.data.name, channels, resize, allow_lossy))
              for name, root in parse_imports(imports)]  # fmt: skip
    evaluator = make_evaluator(spec, test_set, builds, resolve_device(spec.train.device))
    for name, seeds in loaded:
        for outputs in seeds:
            evaluator.seed = outputs.seed
            state = write_run(study.name, name, outputs, spec, evaluator, spec.recipe_cls, out, flags)
            print(f"[{name}-s{outputs.seed}] {state}: {len(outputs.files)} outputs from {outputs.folder} "
                  f"({outputs.convention})")  # fmt: skip
        for run_id in prune(out / study.name, name, [o.seed for o in seeds]):
            print(f"[{run_id}] removed: its seed folder is no longer in the import")
