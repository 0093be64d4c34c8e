"""``python -m courier drill``: the game days the stack declares (FIS experiment templates), their
hypotheses, targets, stop conditions and next scheduled run, all read from the Plan the real
program produced."""
