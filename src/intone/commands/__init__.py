"""The top floor: one module per command family. Parsing arguments, printing, exit codes.

Nothing under `schemas`, `lint`, `authoring` or `train` imports this package (an import-linter
contract in `make test` holds it); `intone.cli` builds the parser from each module's `register`.
"""
