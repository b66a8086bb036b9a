"""synthetic_scenes: determinism, class coverage, multimodal palettes, colours."""

import numpy as np
import pytest
from skimage.color import rgb2lab
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

from studies.datasets import synthetic
from studies.datasets.synthetic import BUILDING, CAR, CLASSES, colorize, render_instances, render_scene


@pytest.fixture(scope="module")
def scenes():
    return [render_instances(0, i, 64) for i in range(500)]


def test_shapes_and_dtypes():
    for size in (32, 48, 64, 128):
        label, photo = render_scene(3, 7, size)
        assert label.shape == (size, size) and label.dtype == np.int64
        assert photo.shape == (size, size, 3) and photo.dtype == np.uint8
        assert label.min() >= 0 and label.max() < len(CLASSES)


def test_deterministic_and_seed_dependent():
    l1, p1 = render_scene(0, 5, 64)
    l2, p2 = render_scene(0, 5, 64)
    assert np.array_equal(l1, l2) and np.array_equal(p1, p2)
    assert not np.array_equal(render_scene(1, 5, 64)[1], p1)
    assert not np.array_equal(render_scene(0, 6, 64)[1], p1)


def test_known_checksum_across_machines():
    # A fixed digest: the generator must give the same bytes on every machine and numpy version.
    label, photo = render_scene(0, 0, 32)
    assert int(label.sum()) == 2029 and int(photo.astype(np.int64).sum()) == 271384


@pytest.mark.parametrize("size", [0, 31, 40, 528, 16, 64.0])
def test_bad_size(size):
    with pytest.raises(ValueError, match="multiple of 16"):
        render_scene(0, 0, size)


def test_class_coverage(scenes):
    present = np.zeros(len(CLASSES))
    for label, *_ in scenes:
        present[np.unique(label)] += 1
    frac = dict(zip(CLASSES, present / len(scenes)))
    assert all(v >= 0.2 for v in frac.values()), frac
    assert min(frac["sky"], frac["road"], frac["building"]) >= 0.9, frac


@pytest.mark.parametrize("cls", [CAR, BUILDING])
def test_instance_colours_are_multimodal(scenes, cls):
    means = [photo[inst == i].mean(0) for _, photo, inst, kinds in scenes for i, c in kinds.items()
             if c == cls and (inst == i).sum() >= 8]  # fmt: skip
    lab = rgb2lab(np.array(means)[None] / 255.0)[0]
    best = max((silhouette_score(lab, KMeans(k, n_init=4, random_state=0).fit_predict(lab)), k) for k in range(3, 7))
    assert best[0] > 0.5, best


def test_photo_is_not_a_function_of_the_label():
    # Same class, different scenes: the mean colour of the class varies a lot (multimodal palettes).
    car_means = []
    for i in range(200):
        label, photo = render_scene(0, i, 64)
        if (label == CAR).sum() > 20:
            car_means.append(photo[label == CAR].mean(0))
    assert np.std(np.array(car_means), axis=0).mean() > 30


def test_colorize():
    label = np.array([[0, 1], [7, 255]])
    rgb = colorize(label)
    assert rgb.dtype == np.uint8 and rgb.shape == (2, 2, 3)
    assert tuple(rgb[0, 0]) == tuple(synthetic.COLORS[0]) and tuple(rgb[1, 1]) == (0, 0, 0)
    with pytest.raises(ValueError, match="label value 9"):
        colorize(np.array([[9]]))
