# src/common: small helpers shared by every module (owner: whoever needs one).
