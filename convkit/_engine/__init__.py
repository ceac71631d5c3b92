"""convkit's engine internals: how a convolution or a pooling is computed.

Only convkit's own modules import from here; users call the public modules
(`convkit.convolution`, `convkit.batched`, `convkit.pooling`, `convkit.cnn`).

* `plan` - the normalised problem (`Problem`) and the cost model's choice
  of engine; `costs` - every fitted constant of that model.
* `run` - running a problem on an engine (accumulators, exact integers).
* `direct` - direct sums over windows; `spectral` - FFT and overlap-add;
  `nonfinite` - keeping NaN/Inf local on the FFT engines.
* `conv2d`, `conv2d_grad` - the batched multi-channel convolution (im2col)
  and its gradients, under `conv2d` and the CNN's Conv2D layer.
* `pool_winners` - the winning cells of max/min pooling.
* `blockwise` - windowed operations on dask arrays block by block, and
  `is_dask` (asked by every public function before anything else);
  `overlap_save` - shared-spectrum FFT blocks for one long axis.
* `jit` - compiled 'same'-size filter loops (numba, optional).
* `threads` - the one shared thread pool.
"""
