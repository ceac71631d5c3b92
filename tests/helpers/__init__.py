"""Independent references the tests compare convkit against, shared by several test files.

`fd` (central finite differences, under every backward), `conv_naive` (the
defining loops of a batched conv2d) and `viz_files` (GIF/PNG readers that do
not use the code that wrote the files). Test-only: convkit never imports them.
"""
