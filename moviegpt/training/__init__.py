"""Training: the Trainer loop, optimizers and schedules, a run built from its config, run folders, logging."""
