"""relu_tanh: the experiments behind the book "CNNs use ReLU, RNNs use tanh?"."""

__version__ = "0.1.0"
