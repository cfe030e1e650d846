"""The operating system's side: processes and their groups, signals, systemd, private files, logging, who
this node is."""
