"""Does the fast training path change what pix2pix learns? The paper-faithful fp32 eager reference against
bf16 autocast + channels_last + fused Adam (the same maths at lower precision; models/train.py Engine),
with and without torch.compile.
The answer is "no" when the fast path's FCN-score and L1 fall within the reference's seed-to-seed spread.
"""

from studies.catalogue.profiles import pix2pix_profiles
from studies.spec import RunSpec, Study

STUDY = Study(
    name="ablation_fastpath",
    question="Does the fast training path (bf16 autocast, channels_last, fused Adam) change the results?",
    base=RunSpec(),
    variants={
        "reference (fp32 eager)": {"train.amp": False, "train.channels_last": False, "train.fused_adam": False,
                                   "train.compile": False},
        "fast (bf16, channels_last, fused Adam)": {"train.amp": True, "train.channels_last": True,
                                                   "train.fused_adam": True, "train.compile": False},
        "fast+compile": {"train.amp": True, "train.channels_last": True, "train.fused_adam": True,
                         "train.compile": True},
    },
    profiles=pix2pix_profiles(small_settings={"model.d.n_layers": 2}),  # the 70x70 rung at 64 px
    seeds=(0, 1, 2),
)  # fmt: skip
