"""Measurements: gradient and saturation diagnostics, Jacobians through time, spectra, timing
benchmarks and the statistics the verdicts use."""
