"""The command line: GUI by default, `--no-gui` for servers, admin subcommands for scripts."""
