"""Dropout: the mask against the generator's draws written out, inverted scaling, identity in
evaluation, backward against finite differences; masks from fit's seeded stream, so a run with
BatchNorm2D and Dropout is deterministic and its resume equals the uninterrupted run bitwise."""

import numpy as np
import pytest

from helpers.fd import fd_grad
from convkit.cnn import (Adam, BatchNorm2D, Callback, Conv2D, Dense, Dropout, Flatten, MaxPool2D, ModelCheckpoint,
                         ReLU, Sequential, WeightAverage, load_checkpoint)

RNG = np.random.default_rng(3)


@pytest.mark.parametrize("p", [0.0, 0.25, 0.6])
def test_forward_is_the_seeded_mask_scaled(p):
    x = RNG.standard_normal((5, 3, 4, 4))
    y = Dropout(p, seed=11).forward(x, True)
    keep = np.random.default_rng(11).random(x.shape) >= p if p else np.ones(x.shape, bool)
    np.testing.assert_allclose(y, np.where(keep, x / (1 - p), 0.0), rtol=1e-15)
    np.testing.assert_array_equal(Dropout(p).forward(x, False), x)


def test_drop_fraction_and_mean():
    x = np.ones((200, 1000), np.float32)
    y = Dropout(0.3, seed=0).forward(x, True)
    assert y.dtype == np.float32
    assert abs((y == 0).mean() - 0.3) < 0.005 and abs(y.mean() - 1.0) < 0.01


def test_backward_against_finite_differences():
    layer = Dropout(0.4)
    x = RNG.standard_normal((3, 2, 3, 3))
    g = RNG.standard_normal(x.shape)

    def loss():
        layer.rng = np.random.default_rng(5)                     # the same mask on every call
        return float((layer.forward(x, True) * g).sum())

    loss()
    np.testing.assert_allclose(layer.backward(g), fd_grad(loss, x), atol=1e-8)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_bad_probability(p):
    with pytest.raises(ValueError, match=r"dropout probability p must be in \[0, 1\), got"):
        Dropout(p)


def net(seed=0):
    return Sequential([Conv2D(1, 4, 3, padding=1), BatchNorm2D(4), ReLU(), MaxPool2D(2), Flatten(), Dropout(0.3),
                       Dense(16, 2)], seed=seed, input_shape=(1, 4, 4))


X = RNG.random((40, 1, 4, 4)).astype(np.float32)
Y = (X[:, 0, :2].mean(axis=(1, 2)) > X[:, 0, 2:].mean(axis=(1, 2))).astype(int)
SETTINGS = dict(epochs=4, batch_size=8, seed=2, augment=1, validation_split=0.2)


def test_fit_masks_follow_the_seed():
    a, b, c = net(), net(), net()
    a.fit(X, Y, optimizer=Adam(0.01), **SETTINGS)
    b.fit(X, Y, optimizer=Adam(0.01), **SETTINGS)
    c.fit(X, Y, optimizer=Adam(0.01), **{**SETTINGS, "seed": 3})
    for key, value in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[key], value, err_msg=key)
    assert not np.array_equal(a.params()["6.weight"], c.params()["6.weight"])


class Interrupt(Callback):
    def on_batch_end(self, batch, n_batches, loss):
        if len(self.context.history.epoch) == 2 and batch == 3:
            raise KeyboardInterrupt


def test_resume_with_batchnorm_and_dropout_equals_the_uninterrupted_run(tmp_path):
    whole = net()
    whole.fit(X, Y, optimizer=Adam(0.01), callbacks=[WeightAverage(3)], **SETTINGS)
    part = net()
    history = part.fit(X, Y, optimizer=Adam(0.01), callbacks=[WeightAverage(3), ModelCheckpoint(tmp_path / "c.npz"),
                                                               Interrupt()], **SETTINGS)
    assert history.interrupted and len(history.epoch) == 2
    ck = load_checkpoint(tmp_path / "c.npz")
    resumed = ck.model
    resumed.fit(X, Y, optimizer=ck.optimizer, resume=ck, callbacks=[WeightAverage(3)], **SETTINGS)
    for key, value in whole.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key], value, err_msg=key)
