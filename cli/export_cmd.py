"""`convkit export`: a saved model as an ONNX file (`convkit.cnn.onnx.save_onnx`)."""

from __future__ import annotations

import click

from ._common import CLIError, library_errors

__all__ = ["export"]


@click.command("export")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The .onnx file to write.")
@click.option("-f", "--force", is_flag=True, help="Replace an existing output file.")
@library_errors
def export(model: str, output: str, force: bool) -> None:
    """Write MODEL (a .npz model or checkpoint) as an ONNX file for onnxruntime and other frameworks.

    The file takes what `convkit predict` feeds the model (images in [0, 1] or
    signals, normalised inside the graph) and outputs class probabilities; it
    needs `pip install 'convkit-learn[onnx]'`.
    """
    import os

    if not output.lower().endswith(".onnx"):
        raise CLIError(f"output {output!r} must end in .onnx")
    if os.path.abspath(output) == os.path.abspath(model):
        raise CLIError(f"output {output!r} is the model itself; choose another file")
    from convkit.cnn.onnx import save_onnx
    from convkit.cnn.serialize import load_model
    save_onnx(load_model(model), output, overwrite=force)
    click.echo(f"saved {output}")
