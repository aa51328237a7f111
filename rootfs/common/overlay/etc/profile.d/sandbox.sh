# Defaults for login shells in the sandbox; the jail sets the same variables
# in the environment of every run.
export LANG=C.UTF-8
export MPLBACKEND=Agg
