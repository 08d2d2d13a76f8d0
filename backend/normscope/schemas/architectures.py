"""VGG and ResNet shapes as numbers: the engine builds from them, the spec bounds their size with them."""

# VGG (Simonyan & Zisserman 2015): convs per stage, a 2x2 max pool after each; widths w, 2w, 4w, 8w, 8w.
VGG_STAGES: dict[int, tuple[int, ...]] = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3)}
VGG_WIDTH_FACTORS = (1, 2, 4, 8, 8)
# He et al. 2016's CIFAR ResNets: depth 6n+2, three stages of n basic blocks, widths w, 2w, 4w.
RESNET_DEPTHS = (20, 32, 44, 56)
RESNET_WIDTH_FACTORS = (1, 2, 4)
DEFAULT_DEPTH = {"vgg": 11, "resnet": 20}
DEFAULT_WIDTH = {"vgg": 64, "resnet": 16}


def vgg_widths(depth: int, width: int) -> list[list[int]]:
    """Output channels of each conv, stage by stage."""
    return [[width * f] * n for n, f in zip(VGG_STAGES[depth], VGG_WIDTH_FACTORS, strict=True)]


def resnet_blocks(depth: int) -> int:
    return (depth - 2) // 6


def conv_weights(kind: str, depth: int, width: int, channels: int = 3) -> int:
    """Weights in the convs (3x3 kernels), the bulk of either net's parameters."""
    pairs: list[tuple[int, int]] = []
    c_in = channels
    if kind == "vgg":
        for stage in vgg_widths(depth, width):
            for c in stage:
                pairs.append((c_in, c))
                c_in = c
    else:
        pairs.append((c_in, width))
        c_in = width
        for f in RESNET_WIDTH_FACTORS:
            c = width * f
            for _ in range(resnet_blocks(depth)):
                pairs += [(c_in, c), (c, c)]
                c_in = c
    return sum(9 * a * b for a, b in pairs)


def layer_names(kind: str, depth: int, hidden_layers: int) -> list[str]:
    """The probed layers' names as frames carry them, known before anything is built (presets, views)."""
    if kind == "vgg":
        names = [f"stage{s + 1}.conv{j + 1}" for s, n in enumerate(VGG_STAGES[depth]) for j in range(n)]
    elif kind == "resnet":
        blocks = range(resnet_blocks(depth))
        names = ["stem"] + [
            f"stage{s + 1}.block{b + 1}.conv{c}"
            for s in range(len(RESNET_WIDTH_FACTORS))
            for b in blocks
            for c in (1, 2)
        ]
    else:
        names = [f"hidden{i + 1}" for i in range(hidden_layers)]
    return [*names, "output"]
