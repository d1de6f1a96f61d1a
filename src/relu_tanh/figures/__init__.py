"""The book's figures: `style` (the house style every figure shares) and one module per chapter,
named after its page, e.g. ``from relu_tanh.figures import krizhevsky as fig``."""
