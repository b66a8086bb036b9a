"""`--weights NAME=PATH` for a study's runs: the files checked before any work (metrics/weights.py's registry), the
recipe's weight files (the VGG19 loss of pix2pixHD and SPADE) set on the runs that read them, and the study's
pretrained-net metrics (`Study.pretrained_metrics`) added to what each run scores when their files are given, with
one line naming the flags of those left out. Nothing is downloaded.
"""

from __future__ import annotations

import dataclasses
import difflib

from metrics import METRICS, MetricUnavailable
from metrics.weights import DINOV2_ARCH, NETS, WeightsError
from metrics.weights import load as load_weights
from studies.spec import ConfigError, Study, override


def parse_weights(items: list[str]) -> dict[str, str]:
    """{registry name: path} of the --weights flags, each file checked (it loads into its net) before any work."""
    out = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not path:
            raise ConfigError(f"--weights expects NAME=PATH, got {item!r}")
        if name not in NETS:
            close = difflib.get_close_matches(name, NETS, 1, cutoff=0.75)
            raise ConfigError(f"--weights: unknown weights {name!r}" + (f" (did you mean {close[0]}?)" if close else "")
                              + f"; known: {', '.join(NETS)}")  # fmt: skip
        try:
            load_weights(name, path)
        except (WeightsError, MetricUnavailable) as e:
            raise ConfigError(f"--weights {name}: {e}") from None
        out[name] = path
    dinov2 = [n for n in out if n in DINOV2_ARCH]
    if len(dinov2) > 1:
        raise ConfigError(f"--weights: give one DINOv2 backbone for the dinov2 metric, not {' and '.join(dinov2)}")
    return out


def pretrained_metrics(study: Study, runs: list, weights: dict[str, str], say: bool = True) -> tuple[str, ...]:
    """The study's pretrained-net metrics whose files were given; one line (`say`) names the flags of the others
    (and of any such metric a run lists without its file)."""
    listed = dict.fromkeys([*study.pretrained_metrics, *(m for *_, spec in runs for m in spec.metrics)])
    missing = {m: needs for m in listed if (needs := METRICS[m].weights if m in METRICS else ())
               and not any(n in weights for n in needs)}  # fmt: skip
    if missing and say:
        print("[weights] left out (their pretrained nets were not given; ganbench never downloads weights): "
              + ", ".join(f"{m} (--weights {'=PATH or '.join(n)}=PATH)" for m, n in missing.items()))  # fmt: skip
    return tuple(m for m in study.pretrained_metrics if m not in missing)


def with_weights(runs: list, weights: dict[str, str], extra_metrics: tuple[str, ...] = ()) -> list:
    """Each run with the weight files it reads: the recipe's (`weights(cfg)`, optional in the contract; a run that
    needs one not given is left out, with a line saying which file it needs) and the metrics' (eval.weights), and
    `extra_metrics` (pretrained-net metrics whose files were given) added to what it scores."""
    kept = []
    metric_files = {k: v for k, v in weights.items() if k != "vgg19"}
    for run_id, variant, seed, spec in runs:
        if "vgg19" in weights and hasattr(spec.model, "vgg_weights"):
            spec = override(spec, "model.vgg_weights", weights["vgg19"])
        if metric_files or extra_metrics:
            spec = dataclasses.replace(spec, metrics=tuple(dict.fromkeys((*spec.metrics, *extra_metrics))),
                                       eval=dataclasses.replace(spec.eval, weights=metric_files))  # fmt: skip
        needs = getattr(spec.recipe_cls, "weights", lambda cfg: {})(spec.model)
        missing = [name for name, path in needs.items() if not path]
        if missing:
            print(f"[{run_id}] skipped: needs {', '.join(missing)} weights (--weights {missing[0]}=PATH; ganbench "
                  "never downloads weights)")  # fmt: skip
            continue
        kept.append((run_id, variant, seed, spec))
    if runs and not kept:
        raise ConfigError("every selected run needs a weight file that was not given (see the lines above)")
    return kept
