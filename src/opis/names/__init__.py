"""Name handling: romanization keys that unite variant spellings of one name."""
