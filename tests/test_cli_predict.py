"""`predict` with a mix of readable and unreadable photos."""

import numpy as np

from convnet_from_scratch import cli
from convnet_from_scratch.blog_model import build_blog_model
from convnet_from_scratch.data import load_image

from photos import butterfly_data


def test_predict_skips_unreadable_photos(tmp_path, capsys):
    model = build_blog_model(24, seed=3)
    model.class_names = ["monarch", "viceroy"]
    model.preprocessing = {"image_size": [24, 24], "rescale": 1 / 255}
    model.save(tmp_path / "model.npz")

    photos = sorted((butterfly_data() / "danaus_plexippus").glob("*.jpg"))[:2]
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(photos[0].read_bytes()[:300])
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    argv = ["predict", tmp_path / "model.npz", photos[0], truncated, text, photos[1]]

    status = cli.main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    assert status == 2

    lines = captured.out.splitlines()
    assert [line.split("\t")[0] for line in lines] == [str(photos[0]), str(photos[1])]
    images = np.stack([load_image(path, (24, 24)) for path in photos]) / 255
    probabilities = model.predict(images.astype(np.float32))[:, 0]
    for line, probability in zip(lines, probabilities, strict=True):
        _, name, confidence = line.split("\t")
        assert name == ("viceroy" if probability > 0.5 else "monarch")
        assert float(confidence) == round(max(probability, 1 - probability), 4)

    errors = captured.err.splitlines()
    assert len(errors) == 3
    assert errors[0].startswith(f"warning: Cannot read image {truncated}: ")
    assert errors[1].startswith(f"warning: Cannot read image {text}: ")
    assert errors[2].endswith(
        "error: 2 of 4 images could not be read, so they have no result."
    )
