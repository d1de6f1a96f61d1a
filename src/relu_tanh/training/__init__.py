"""Training: the loop for one model, the K-model trainers, and the synthetic sequence tasks."""
