"""Docstrings of the fine-tuning estimators, built from the parameter table.

The estimators share most parameters; each is described once here, and every
class lists exactly its own parameters, in the table's order, with the defaults
of its ``__init__``. ``python -m sktransfer.finetune._generate`` writes both into
the classes' source (so the text cannot drift from the code, and editors, type
checkers, ``help()`` and the API reference all read them).
"""

from __future__ import annotations

import textwrap

from ._params import CONTRASTIVE, DOMAIN, PARAMETERS

PARAMS = {
    "embedder": (
        "None, str or transformer",
        """What turns rows into features. ``None``: the default {embedder}; a model
name: ``{embedder}(model=name)``; or an embedder instance carrying other
backbone parameters, e.g. ``{embedder}({example})``. Grid-search its
parameters as ``embedder__model`` etc. Any other sklearn transformer with a
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
        "Where training runs (the embedder embeds on its own ``device``).",
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
embedder_ : transformer
    The fitted embedder (its loaded backbone is shared with other estimators).
net_ : skorch.NeuralNet
    The trained net; ``net_.history`` holds the losses of every epoch, e.g.
    ``net_.history[:, "train_loss"]``.
"""


_IMAGE = dict(
    embedder="ImageEmbedder",
    example='model="resnet18", image_size=160',
    blocks="timm's own block grouping for timm models; stages' blocks such as "
    "``layer4.1`` for torchvision models",
)
_TEXT = dict(
    embedder="TextEmbedder",
    example='model="path/to/a/sentence-transformers/model"',
    blocks="the last N transformer layers; the embeddings join the first layer",
)
_ANY = dict(
    blocks="the last N transformer layers of a TextEmbedder, or the last N blocks of an "
    "ImageEmbedder's backbone",
)
_ANY_EMBEDDER = {
    "embedder": (
        "sklearn transformer",
        """What turns rows into features (no default): an :class:`ImageEmbedder`
or a :class:`TextEmbedder` (whose last blocks can then train, ``unfreeze``),
or any other sklearn transformer with a numeric output (a ``Pipeline`` ending
in ``PCA``, a ``FunctionTransformer()`` on features already computed…), with
``unfreeze=0``. Grid-search its parameters as ``embedder__model`` etc.""",
    ),
}

# Every public fine-tuning estimator: its summary, the parameters it leaves out of
# the table (``drop``) or whose default it changes (``defaults``), its texts.
ESTIMATORS = {
    "TransferClassifier": dict(
        summary="Classify rows with any embedder and a trained head; with an ImageEmbedder "
        "or a TextEmbedder, optionally its last blocks fine-tuned. The modality-neutral "
        "estimator that ImageClassifier and TextClassifier preset.",
        drop=CONTRASTIVE,
        extra=_ANY_EMBEDDER,
        names=_ANY,
        examples=""">>> import numpy as np
>>> from sklearn.preprocessing import FunctionTransformer
>>> from sktransfer import TransferClassifier
>>> X = np.random.default_rng(0).normal(size=(20, 4))
>>> y = np.where(X[:, 0] > 0, "up", "down")
>>> clf = TransferClassifier(embedder=FunctionTransformer(), max_epochs=5, random_state=0)
>>> clf.fit(X, y).predict_proba(X[:3]).shape
(3, 2)
""",
    ),
    "TransferRegressor": dict(
        summary="Predict numbers from rows with any embedder and a trained head (see "
        "TransferClassifier). The modality-neutral estimator that ImageRegressor and "
        "TextRegressor preset.",
        drop=(*CONTRASTIVE, "class_weight"),
        extra=_ANY_EMBEDDER,
        names=_ANY,
        examples=""">>> import numpy as np
>>> from sklearn.preprocessing import FunctionTransformer
>>> from sktransfer import TransferRegressor
>>> X = np.random.default_rng(0).normal(size=(20, 4))
>>> reg = TransferRegressor(embedder=FunctionTransformer(), max_epochs=5, random_state=0)
>>> reg.fit(X, X.sum(axis=1)).predict(X[:3]).shape
(3,)
""",
    ),
    "ImageClassifier": dict(
        summary="Classify images with a pretrained backbone, a trained head and, "
        "optionally, its last blocks fine-tuned.",
        drop=CONTRASTIVE,
        names=_IMAGE,
        examples=""">>> import numpy as np
>>> from sktransfer import ImageClassifier, ImageEmbedder
>>> rng = np.random.default_rng(0)
>>> images = rng.integers(0, 255, (8, 32, 32, 3), dtype=np.uint8)
>>> labels = ["cat", "dog"] * 4
>>> clf = ImageClassifier(embedder=ImageEmbedder(image_size=64), unfreeze=1,
...                       max_epochs=2, random_state=0)
>>> clf.fit(images, labels).predict_proba(images).shape
(8, 2)
""",
    ),
    "ImageRegressor": dict(
        summary="Predict numbers from images with a pretrained backbone and a trained head.",
        drop=(*CONTRASTIVE, "class_weight"),
        names=_IMAGE,
        examples=""">>> import numpy as np
>>> from sktransfer import ImageEmbedder, ImageRegressor
>>> images = np.random.default_rng(0).integers(0, 255, (8, 32, 32, 3), dtype=np.uint8)
>>> reg = ImageRegressor(embedder=ImageEmbedder(image_size=64), random_state=0)
>>> reg.fit(images, images.mean(axis=(1, 2, 3))).predict(images[:2]).shape
(2,)
""",
    ),
    "TextClassifier": dict(
        summary="Classify texts with a pretrained sentence embedder, a trained head and, "
        "optionally, its last transformer layers fine-tuned.",
        drop=(*CONTRASTIVE, "augment"),  # augmentation is for images
        names=_TEXT,
        examples=""">>> from sktransfer import TextClassifier
>>> texts = ["I loved it", "great food", "awful service", "never again"]
>>> clf = TextClassifier(max_epochs=30, lr=1e-2, random_state=0)
>>> clf.fit(texts, ["pos", "pos", "neg", "neg"]).predict(["really great"])
array(['pos'], dtype='<U3')
""",
    ),
    "TextRegressor": dict(
        summary=(
            "Predict numbers from texts with a pretrained sentence embedder and a trained head."
        ),
        drop=(*CONTRASTIVE, "augment", "class_weight"),
        names=_TEXT,
        examples=""">>> from sktransfer import TextRegressor
>>> texts = ["terrible", "bad", "fine", "good", "great", "superb"]
>>> reg = TextRegressor(max_epochs=50, lr=1e-2, random_state=0)
>>> reg.fit(texts, [0, 1, 2, 3, 4, 5]).predict(["excellent"]).shape
(1,)
""",
    ),
    "SetFitClassifier": dict(
        summary="Few-shot text classification (SetFit): contrastive fine-tuning of the "
        "sentence embedder on pairs of labelled texts, then a head on its embeddings. "
        "Meant for 8 to 64 labelled texts per class.",
        # The contrastive stage tunes the whole embedder; the head needs nothing else.
        drop=("augment", "unfreeze", "backbone_lr", *DOMAIN),
        defaults=dict(lr=1e-2, max_epochs=100),
        extra={
            "n_iterations": (
                "None or int",
                "The contrastive pairs. ``None``: every pair of two different texts once, "
                "the rarer kind (same class, other class) repeated until both kinds are as "
                "many (SetFit 1.x's default, ``sampling_strategy='oversampling'``, without "
                "pairs of a text with itself), at most 20 of each kind per text. An int: "
                "that many pairs drawn per text and per kind.",
            ),
            "contrastive_epochs": ("int", "Epochs over the pairs (0: no contrastive stage)."),
            "contrastive_lr": ("float", "Learning rate of the embedder in the contrastive stage."),
            "contrastive_batch_size": ("int", "Pairs per step in the contrastive stage."),
        },
        names=dict(
            embedder="TextEmbedder", example='model="path/to/a/sentence-transformers/model"'
        ),
        notes="""The contrastive stage fine-tunes the whole embedder for ``contrastive_epochs``
over the pairs: with 8 texts per class and two classes, 128 pairs by default
(64 of each kind: the 56 same-class pairs, some twice, and the 64 others), 640
with ``n_iterations=20``; with 32 per class, 2,048 (2,560). Each step embeds
each distinct text of its pairs once. The head then trains on the tuned
embeddings as in :class:`TextClassifier` with ``unfreeze=0``. The tuned
embedder embeds with the embedder's own settings (``batch_size``,
``precision``, ``normalize``), without its cache. With a few dozen texts an
epoch of the head is one or two steps, hence more epochs and a larger ``lr``
by default than the other estimators.
""",
        examples=""">>> from sktransfer import SetFitClassifier
>>> texts = ["I loved it", "great food", "awful service", "never again"]
>>> clf = SetFitClassifier(n_iterations=2, random_state=0)
>>> clf.fit(texts, ["pos", "pos", "neg", "neg"]).predict(["really great"])
array(['pos'], dtype='<U3')
""",
    ),
}
_CLASSIFIERS = {"TransferClassifier", "ImageClassifier", "TextClassifier", "SetFitClassifier"}


def parameters(name: str) -> dict:
    """``{parameter: default}`` of estimator ``name``'s ``__init__``, in table order."""
    spec = ESTIMATORS[name]
    drop, defaults = spec.get("drop", ()), spec.get("defaults", {})
    return {p: defaults.get(p, d) for p, d in PARAMETERS.items() if p not in drop}


def docstring(name: str) -> str:
    """The numpydoc docstring of estimator ``name``: summary, parameters with their
    defaults, fitted attributes, notes and examples."""
    spec = ESTIMATORS[name]
    texts = {**PARAMS, **spec.get("extra", {})}
    entries = []
    for param, default in parameters(name).items():
        kind, text = texts[param]
        for key, value in spec.get("names", {}).items():
            text = text.replace("{" + key + "}", value)
        shown = f'"{default}"' if isinstance(default, str) else default
        text = textwrap.fill(" ".join(text.split()), 84, break_on_hyphens=False)
        entries.append(f"{param} : {kind}, default={shown}\n{textwrap.indent(text, '    ')}")
    attributes = _CLASSIFIER_ATTRIBUTES if name in _CLASSIFIERS else _REGRESSOR_ATTRIBUTES
    notes = spec.get("notes", "")
    tail = (f"Notes\n-----\n{notes}\n" if notes else "") + f"Examples\n--------\n{spec['examples']}"
    return (
        textwrap.fill(spec["summary"], 88)
        + "\n\nParameters\n----------\n"
        + "\n".join(entries)
        + f"\n\nAttributes\n----------\n{attributes}{_ATTRIBUTES}\n{tail}"
    )
