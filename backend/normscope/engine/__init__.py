"""Pure PyTorch: data, models, probe, trainer. Imports torch and normscope.schemas only."""
