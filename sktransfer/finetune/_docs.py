"""Docstrings of the fine-tuning estimators, built from their ``__init__`` signatures.

The estimators share most parameters; each is described once here, and every
class lists exactly its own parameters, in signature order, with the defaults
read from the signature (so the text cannot drift from the code).
"""

from __future__ import annotations

import inspect
import textwrap

PARAMS = {
    "encoder": (
        "None, str or transformer",
        """What turns rows into features. ``None``: the default {encoder}; a model
name: ``{encoder}(model=name)``; or an encoder instance carrying other
backbone parameters, e.g. ``{encoder}({example})``. Grid-search its
parameters as ``encoder__model`` etc. Any other sklearn transformer with a
numeric output (a ``Pipeline`` ending in ``PCA``, ``TfidfVectorizer``…)
also works, with ``unfreeze=0``.""",
    ),
    "augment": (
        'None, "light", "strong" or callable',
        """Training-time augmentation of each decoded image (a PIL image in, a PIL
image out), before the weights' own preprocessing. ``"light"``: flips and
small shifts, rotations and zooms; ``"strong"``: the same, larger, plus
``RandAugment``. Both flip left-right: for digits or text in images pass
your own torchvision transform. Augmentation makes the backbone run on
every batch (no fast path).""",
    ),
    "head": (
        '"linear", "mlp", int or tuple of int',
        """The head on the pooled features: linear, or an MLP with these hidden
sizes (``"mlp"`` is one hidden layer of 256). Or your own ``nn.Module``
class, built as ``head(in_features=..., out_features=..., **head__params)``
with the ``head__*`` parameters routed to it (as skorch's ``module__*``),
e.g. ``head=MyHead, head__hidden=64``; or an ``nn.Module`` instance, copied
when fitting.""",
    ),
    "dropout": ("float", "Dropout on the features and after each hidden layer of the head."),
    "unfreeze": (
        '0, "head", int or "all"',
        """What trains besides the head. ``0`` / ``"head"``: nothing (the fast path:
each row is embedded once, before training). ``N``: the last N blocks of
the backbone ({blocks}). ``"all"``: the whole backbone. Frozen blocks
stay in eval mode (BatchNorm statistics and dropout as at inference).""",
    ),
    "lr": ("float", "Learning rate of the head."),
    "backbone_lr": (
        "float",
        """Learning rate of the unfrozen backbone blocks: smaller than the head's
(discriminative rates), so that training does not wipe out what the
backbone learned in pre-training.""",
    ),
    "max_epochs": (
        'int or "auto"',
        """Passes over the training rows. An epoch is ``ceil(n_rows / batch_size)``
optimizer steps. ``"auto"``: when only the head trains (``unfreeze=0``, the
fast path, where an epoch over the embeddings costs milliseconds), enough
epochs for 1,000 optimizer steps and at least 20 (150 rows: 200 epochs;
4,000 rows: 20); when backbone blocks train, 20.""",
    ),
    "batch_size": ("int", "Rows per optimizer step (and per forward pass when predicting)."),
    "optimizer": (
        '{"adamw", "adam", "sgd"} or torch optimizer class',
        '``"sgd"`` uses momentum 0.9.',
    ),
    "weight_decay": ("float", "Passed to the optimizer."),
    "lr_schedule": (
        'None, "cosine" or "onecycle"',
        """Per-step learning-rate schedule: constant, linear warm-up then cosine decay
to 0, or one-cycle (warm-up from lr/25, then cosine decay).""",
    ),
    "warmup": ("float", "Fraction of the steps spent warming up, for both schedules."),
    "early_stopping": (
        "bool",
        """Hold out ``validation_fraction`` of the rows (stratified for classifiers)
and stop when their loss has not improved for ``patience`` epochs.""",
    ),
    "validation_fraction": ("float", "Share of the rows held out when ``early_stopping``."),
    "patience": ("int", "Epochs without improvement of the validation loss before stopping."),
    "restore_best": ("bool", "With ``early_stopping``, end with the weights of the best epoch."),
    "class_weight": (
        'dict, "balanced" or None',
        "Weights of the classes in the loss, multiplied by ``sample_weight``.",
    ),
    "domain_loss": (
        'None, "coral" or callable',
        """Deep domain alignment with unlabelled target rows, given to ``fit`` by
``sample_domain`` (negative = target, skada's convention) or the label -1.
``"coral"``: every batch also draws as many target rows, and the loss adds
``domain_weight * ||C_s - C_t||_F^2 / (4 d^2)`` (Deep CORAL) between the
covariances of the source and target features that the head's last linear
layer reads; or your own ``loss(source, target) -> scalar tensor``. Needs
something to train before that layer: ``head="mlp"`` (or hidden sizes) or
``unfreeze=N``. See the domain adaptation guide.""",
    ),
    "domain_weight": ("float", "Weight of ``domain_loss`` against the label loss."),
    "random_state": (
        "int, RandomState or None",
        """Seeds the head's initialisation, the shuffling, dropout and the validation
split: two fits with the same seed give the same model on a CPU.""",
    ),
    "device": (
        '{"auto", "cpu", "cuda", "cuda:N", "mps"}',
        "Where training runs (the encoder embeds on its own ``device``).",
    ),
    "verbose": (
        "int",
        """0: nothing is printed. 1: a progress line on stderr while ``fit`` or
``predict`` runs past 2 s, counted in rows embedded, pairs (SetFit) and
training batches, with the time left (plain lines at most every 30 s when
stderr is not a terminal). 2: also skorch's table of losses per epoch.""",
    ),
    "warm_start": (
        "bool",
        """If True, ``fit`` continues from the weights of the previous ``fit`` instead
of starting again.""",
    ),
}

_CLASSIFIER_ATTRIBUTES = """\
classes_ : ndarray
    The labels, or ``arange(n_labels)`` for a multi-label indicator ``y``.
multilabel_ : bool
    Whether ``y`` was a multi-label indicator matrix (sigmoid outputs, BCE loss).
"""
_REGRESSOR_ATTRIBUTES = """\
n_outputs_ : int
    Number of target columns (targets are standardised while training).
"""
_ATTRIBUTES = """\
encoder_ : transformer
    The fitted encoder (its loaded backbone is shared with other estimators).
net_ : skorch.NeuralNet
    The trained net; ``net_.history`` holds the losses of every epoch, e.g.
    ``net_.history[:, "train_loss"]``.
"""


def documented(summary: str, *, examples: str, notes: str = "", extra: dict | None = None, **names):
    """Class decorator: the docstring from ``summary``, the parameters of the
    class's ``__init__`` (texts from ``PARAMS`` and ``extra``; ``{encoder}``,
    ``{example}`` and ``{blocks}`` filled from ``names``), ``notes`` and ``examples``."""
    texts = {**PARAMS, **(extra or {})}
    tail = (f"Notes\n-----\n{notes}\n" if notes else "") + f"Examples\n--------\n{examples}"

    def decorate(cls):
        entries = []
        for name, param in inspect.signature(cls.__init__).parameters.items():
            if name == "self":
                continue
            kind, text = texts[name]
            for key, value in names.items():
                text = text.replace("{" + key + "}", value)
            default = f'"{param.default}"' if isinstance(param.default, str) else param.default
            entries.append(f"{name} : {kind}, default={default}\n{textwrap.indent(text, '    ')}")
        is_classifier = hasattr(cls, "predict_proba")
        attributes = _CLASSIFIER_ATTRIBUTES if is_classifier else _REGRESSOR_ATTRIBUTES
        cls.__doc__ = (
            f"{summary}\n\nParameters\n----------\n"
            + "\n".join(entries)
            + f"\n\nAttributes\n----------\n{attributes}{_ATTRIBUTES}\n{tail}"
        )
        return cls

    return decorate
