"""Optimizers with torch.optim's update rules: SGD (momentum, weight decay) and Adam.

An optimizer updates flat dicts of parameter arrays in place (``step(params,
grads)``, keys like "0.weight"); its state (momentum buffers, Adam moments and
step count) can be exported and restored for checkpoints. Learning-rate
schedules are not here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._engine import layer_loops

__all__ = ["Optimizer", "SGD", "Adam", "optimizer_from_config"]


def _positive(value: float, name: str, *, allow_zero: bool = False) -> float:
    """Check a float hyper-parameter is > 0 (or >= 0)."""
    v = float(value)
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return v


class Optimizer:
    """Base: state is a dict of per-parameter arrays plus scalar counters.

    Subclasses implement ``step(params, grads)``, which updates the arrays of
    `params` in place, and ``config()``.

    Attributes
    ----------
    state : dict of str -> ndarray
        Per-parameter arrays (momentum, moment estimates).
    steps : int
        Updates made so far.

    Examples
    --------
    >>> opt = SGD(lr=0.1)
    >>> isinstance(opt, Optimizer), opt.steps
    (True, 0)
    """

    def __init__(self) -> None:
        self.state: dict[str, np.ndarray] = {}
        self.steps = 0

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        raise NotImplementedError

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the state arrays (keys "<slot>/<param>") and the step count."""
        out = {k: v.copy() for k, v in self.state.items()}
        out["steps"] = np.array(self.steps, dtype=np.int64)
        return out

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore from `state_dict()` output."""
        self.steps = int(state["steps"])
        self.state = {k: np.array(v) for k, v in state.items() if k != "steps"}

    def _slot(self, slot: str, key: str, like: np.ndarray) -> np.ndarray:
        name = f"{slot}/{key}"
        if name not in self.state:
            self.state[name] = np.zeros_like(like)
        return self.state[name]


class SGD(Optimizer):
    """Stochastic gradient descent: ``g += wd*p; b = mu*b + g; p -= lr*b`` (torch.optim.SGD).

    Parameters
    ----------
    lr : float
        Learning rate, > 0.
    momentum : float, optional
        mu, the weight of the previous update.
    weight_decay : float, optional
        wd, L2 penalty added to the gradient.

    Examples
    --------
    >>> import numpy as np
    >>> params = {"w": np.array([1.0, 2.0])}
    >>> SGD(lr=0.1).step(params, {"w": np.array([1.0, -1.0])})
    >>> params["w"]
    array([0.9, 2.1])
    """

    def __init__(self, lr: float, momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        super().__init__()
        self.lr = _positive(lr, "lr")
        self.momentum = _positive(momentum, "momentum", allow_zero=True)
        self.weight_decay = _positive(weight_decay, "weight_decay", allow_zero=True)

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        self.steps += 1
        for key, p in params.items():
            g = grads[key]
            if self.weight_decay:
                g = g + self.weight_decay * p
            if self.momentum:
                buf = self._slot("momentum", key, p)
                buf *= self.momentum
                buf += g
                g = buf
            p -= (self.lr * g).astype(p.dtype, copy=False)

    def config(self) -> dict[str, Any]:
        return {"type": "sgd", "lr": self.lr, "momentum": self.momentum, "weight_decay": self.weight_decay}


class Adam(Optimizer):
    """Adam (torch.optim.Adam, L2 weight decay added to the gradient, not decoupled).

    Parameters
    ----------
    lr : float, optional
        Learning rate, > 0.
    betas : (float, float), optional
        Decay rates of the first and second moment estimates.
    eps : float, optional
        Added to the denominator.
    weight_decay : float, optional
        L2 penalty added to the gradient.

    Examples
    --------
    >>> import numpy as np
    >>> params = {"w": np.array([1.0, 2.0])}
    >>> Adam(lr=0.1).step(params, {"w": np.array([1.0, -1.0])})
    >>> params["w"]                     # the first step moves each weight by lr
    array([0.9, 2.1])
    """

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__()
        self.lr = _positive(lr, "lr")
        b1, b2 = (float(b) for b in betas)
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"betas must both be in [0, 1), got {betas!r}")
        self.betas = (b1, b2)
        self.eps = _positive(eps, "eps", allow_zero=True)
        self.weight_decay = _positive(weight_decay, "weight_decay", allow_zero=True)

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        self.steps += 1
        b1, b2 = self.betas
        c1 = 1 - b1 ** self.steps
        c2 = np.sqrt(1 - b2 ** self.steps)
        for key, p in params.items():
            g = grads[key]
            m = self._slot("m", key, p)
            v = self._slot("v", key, p)
            if (layer_loops.available() and p.flags.c_contiguous and p.dtype in (np.float32, np.float64)
                    and g.dtype == p.dtype == m.dtype == v.dtype):           # one compiled pass
                layer_loops.adam_step(p, np.ascontiguousarray(g), m, v, weight_decay=self.weight_decay,
                                      betas=self.betas, c1=c1, c2=float(c2), lr=self.lr, eps=self.eps)
                continue
            if self.weight_decay:
                g = g + self.weight_decay * p
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            denom = np.sqrt(v) / c2 + self.eps
            p -= ((self.lr / c1) * m / denom).astype(p.dtype, copy=False)

    def config(self) -> dict[str, Any]:
        return {"type": "adam", "lr": self.lr, "betas": list(self.betas), "eps": self.eps,
                "weight_decay": self.weight_decay}


def optimizer_from_config(config: dict[str, Any]) -> Optimizer:
    """Build an optimizer from ``opt.config()``.

    Parameters
    ----------
    config : dict
        ``{"type": "sgd" | "adam", ...keywords of the constructor}``.

    Returns
    -------
    optimizer : SGD or Adam
        Fresh, without state.

    Raises
    ------
    ValueError
        An unknown type.

    Examples
    --------
    >>> opt = optimizer_from_config({"type": "sgd", "lr": 0.01, "momentum": 0.9})
    >>> opt.config()
    {'type': 'sgd', 'lr': 0.01, 'momentum': 0.9, 'weight_decay': 0.0}
    """
    if not isinstance(config, dict) or config.get("type") not in ("sgd", "adam"):
        raise ValueError(f"optimizer type must be 'sgd' or 'adam', got {config!r}")
    kwargs = {k: v for k, v in config.items() if k != "type"}
    return SGD(**kwargs) if config["type"] == "sgd" else Adam(**kwargs)
