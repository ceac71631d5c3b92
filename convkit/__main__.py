"""``python -m convkit`` runs the command-line interface."""

from convkit_cli import main

if __name__ == "__main__":
    main()
