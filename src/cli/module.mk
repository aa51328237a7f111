# src/cli: sandbox-run (being written).
