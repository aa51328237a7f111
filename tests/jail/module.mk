# tests/jail: jail probes and Check tests of the jail (owner: jail).
