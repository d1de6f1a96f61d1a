"""The networks: activations, CNNs and MLPs, recurrent cells and stacks, with their configs."""
