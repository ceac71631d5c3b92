"""``convkit convolve``: convolve two 1-D signals read from csv, txt, npy or WAV files.

Only click and the standard library are imported here; numpy and convkit load
inside the command, so ``convkit --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import click

from convkit._names import METHODS, MODES, SIGNAL_SUFFIXES, Method, Mode

from ._common import CLIError, library_errors, threads_option

__all__ = ["convolve"]

_STDOUT = "-"

_EPILOG = """\b
Files: .csv/.txt hold one number per line (or all on one line, separated by
commas or spaces; '#' comments and one title line are skipped), .npy a 1-D
array, .wav PCM or float audio (integer samples read as [-1, 1)).
\b
WAV: the result keeps the sample rate of A (or of B when only B is a WAV;
two WAVs must share one rate) and is written as 16-bit PCM. If its peak
exceeds 1 it is scaled down to peak 1 and the gain is printed. A multichannel
WAV is convolved channel by channel (a stereo recording with a mono impulse
response, or a mono signal with a stereo response), and can only be written
to a .wav file. Other outputs hold the unscaled values.
\b
Examples:
  convkit convolve samples/signal.wav samples/impulse_response.wav
      (writes samples/signal_conv_impulse_response.wav)
  convkit convolve samples/signal.csv samples/impulse_response.csv --mode same -o -
  convkit convolve a.npy b.npy --method fft -o c.npy
"""


def _default_output(a: Path, b: Path) -> Path:
    """``<A's folder>/<A stem>_conv_<B stem><A ext>``."""
    return a.parent / f"{a.stem}_conv_{b.stem}{a.suffix}"


def _check_paths(a: str, b: str, output: str | None, force: bool) -> Path | None:
    """Fail before reading anything: missing inputs, bad output extension, folder or name."""
    from convkit.io.atomic import check_output_path

    for src in (a, b):
        if not Path(src).exists():
            raise FileNotFoundError(2, "No such file", src)
    if output == _STDOUT:
        return None
    out = _default_output(Path(a), Path(b)) if output is None else Path(output)
    if out.suffix.lower() not in SIGNAL_SUFFIXES:
        raise CLIError(f"cannot write {str(out)!r}: unknown extension {out.suffix or '(none)'!r}; "
                       f"accepted: {' '.join(SIGNAL_SUFFIXES)}, or '-' for stdout")
    check_output_path(out, overwrite=force, inputs=(a, b))
    return out


def _rate(a: str, ra: int | None, b: str, rb: int | None) -> int | None:
    """The output's sample rate: A's, else B's; two different rates are an error."""
    if ra is not None and rb is not None and ra != rb:
        raise CLIError(f"sample rates differ: {a} is {ra} Hz, {b} is {rb} Hz; "
                       "resample one of them first")
    return ra if ra is not None else rb


def _channels(a: str, ca: int, b: str, cb: int) -> int:
    """Channels of the result: equal counts pair up, a mono side is used for every channel."""
    if ca > 1 and cb > 1 and ca != cb:
        raise CLIError(f"{a} has {ca} channels and {b} has {cb}; give equal channel counts "
                       "or a mono file")
    return max(ca, cb)


def _describe(name: str, samples, rate: int | None) -> str:
    """'name (8000 samples, 2 channels, 8000 Hz)'."""
    parts = [f"{samples.shape[0]} samples"]
    if samples.ndim == 2 and samples.shape[1] > 1:
        parts.append(f"{samples.shape[1]} channels")
    if rate is not None:
        parts.append(f"{rate} Hz")
    return f"{name} ({', '.join(parts)})"


def _convolve_channels(x, h, mode: Mode, method: Method):
    """Convolve each channel of x (N,) or (N, C) with the matching channel of h."""
    import numpy as np
    from convkit import convolve as conv

    if x.ndim == 1 and h.ndim == 1:
        return conv(x, h, mode=mode, method=method)
    x2, h2 = x.reshape(x.shape[0], -1), h.reshape(h.shape[0], -1)
    channels = max(x2.shape[1], h2.shape[1])
    return np.stack([conv(x2[:, c % x2.shape[1]], h2[:, c % h2.shape[1]], mode=mode, method=method)
                     for c in range(channels)], axis=1)


@click.command("convolve", epilog=_EPILOG)
@click.argument("a", metavar="A", type=click.Path(dir_okay=True))
@click.argument("b", metavar="B", type=click.Path(dir_okay=True))
@click.option("--mode", type=click.Choice(MODES), default="full", show_default=True,
              help="full: every overlap (len A + len B - 1); same: the length of A, centred; "
                   "valid: only where one signal covers the other completely.")
@click.option("--method", type=click.Choice(METHODS), default="auto", show_default=True,
              help="Engine: direct sums, FFT, or auto (the faster one for these lengths).")
@click.option("-o", "--output", metavar="OUT", default=None,
              help=f"Output {'/'.join(SIGNAL_SUFFIXES)}, or '-' to print one number per line. "
                   "Default: A_conv_B.<ext of A> next to A.")
@click.option("-f", "--force", is_flag=True, help="Overwrite an existing output file.")
@threads_option
@library_errors
def convolve(a: str, b: str, mode: Mode, method: Method, output: str | None, force: bool) -> None:
    """Convolve signal A with signal B, e.g. a recording with an impulse response."""
    import numpy as np
    from convkit import choose_method
    from convkit.io.signals import read_signal, write_signal

    out = _check_paths(a, b, output, force)
    sig_a, sig_b = read_signal(a), read_signal(b)
    rate = _rate(a, sig_a.rate, b, sig_b.rate)
    channels = _channels(a, sig_a.samples[0].size, b, sig_b.samples[0].size)
    is_wav = out is not None and out.suffix.lower() == ".wav"
    target = str(out) if out is not None else "stdout"
    if is_wav and rate is None:
        raise CLIError(f"writing {target} needs a sample rate, but neither {a} nor {b} is a .wav "
                       "file; write .csv, .txt or .npy instead")
    if channels > 1 and not is_wav:
        raise CLIError(f"the result has {channels} channels; only a .wav output holds several "
                       f"(got {target}); use -o OUT.wav")

    used: str = method
    if method == "auto":
        first_a, first_b = (s.samples if s.samples.ndim == 1 else s.samples[:, 0]
                            for s in (sig_a, sig_b))
        used = choose_method(first_a, first_b, mode=mode)
    result = _convolve_channels(sig_a.samples, sig_b.samples, mode, method)

    notes = []
    if is_wav:
        peak = float(np.abs(result).max())
        if peak > 1:
            result = result / peak
            notes.append(f"normalised by {1 / peak:.4g} to avoid clipping (peak {peak:.4g})")
        else:
            notes.append(f"peak {peak:.4g} fits in [-1, 1]: written unscaled")
    if out is None:
        click.echo("".join(f"{v!r}\n" for v in result.tolist()), nl=False)
    else:
        write_signal(out, result, rate=rate, overwrite=force, inputs=(a, b))
    as_method = f"{used} (auto)" if method == "auto" else used
    fmt = ", 16-bit PCM" if is_wav else ""
    summary = (f"{_describe(a, sig_a.samples, sig_a.rate)} * {_describe(b, sig_b.samples, sig_b.rate)}"
               f" -> {target} ({result.shape[0]} samples{fmt}), mode {mode}, method {as_method}")
    for line in notes + [summary]:
        click.echo(line, err=out is None)
