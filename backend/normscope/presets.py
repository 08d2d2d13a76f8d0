"""Ready experiments for teaching: each an ExperimentSpec plus a title and what to look for."""

from pydantic import BaseModel, Field

from normscope.schemas import ExperimentSpec


class PresetView(BaseModel):
    """Where the dashboard opens for a preset."""

    layer: str = "hidden3"
    tap: str = "normed"
    chart: str = "bands"


class Preset(BaseModel):
    id: str
    title: str
    summary: str = Field(description="What to look for, in two or three sentences.")
    spec: ExperimentSpec
    view: PresetView = Field(default_factory=PresetView)


SWEEP_LRS = 8
# The searches' net and training (the sweep varies the optimizer per variant): 3x100 sigmoid on digits.
SEARCH_NET: dict = {
    "dataset": {"name": "digits", "standardize": True},
    "model": {"kind": "mlp", "hidden": [100, 100, 100], "activation": "sigmoid"},
    "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.0},
    "batch_size": 60,
    "seed": 0,
}


# The paper's Figure 1 net and its training: 3x100 sigmoid from a small Gaussian init, SGD at 0.5, batch 60.
FIGURE1_NET: dict = {
    "model": {
        "kind": "mlp",
        "hidden": [100, 100, 100],
        "activation": "sigmoid",
        "init": "gaussian",
        "init_std": 0.06,
    },
    "optimizer": {"name": "sgd", "lr": 0.5, "momentum": 0.0},
    "batch_size": 60,
    "seed": 0,
}


def ioffe_szegedy(name: str, dataset: dict, steps: int, every: int, eval_every: int) -> ExperimentSpec:
    """Figure 1 itself: the net plain and with BN, side by side."""
    return ExperimentSpec.model_validate(
        {
            "name": name,
            "dataset": dataset,
            **FIGURE1_NET,
            "steps": steps,
            "variants": [
                {"label": "plain", "norm": "none"},
                {"label": "BN", "norm": "batch", "placement": "before"},
            ],
            "probe": {"every": every, "bins": 64, "eval_every": eval_every},
        }
    )


def cifar_resnet(depth: int) -> ExperimentSpec:
    """A CIFAR ResNet of the given depth, plain (SkipInit) and BN, at the usual recipe's learning rate."""
    return ExperimentSpec.model_validate(
        {
            "name": f"ResNet-{depth} on CIFAR-10, plain (SkipInit) vs BN",
            "dataset": {"name": "cifar10"},
            "model": {"kind": "resnet", "depth": depth, "width": 16, "activation": "relu", "init": "he"},
            "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4},
            "batch_size": 128,
            "steps": 8000,
            "precision": "bf16",
            "seed": 0,
            "variants": [{"label": "plain", "norm": "none"}, {"label": "BN", "norm": "batch"}],
            "probe": {"every": 20, "bins": 64, "eval_every": 10},
        }
    )


PRESETS: list[Preset] = [
    Preset(
        id="ioffe-szegedy",
        title="Ioffe & Szegedy, Figure 1: BN vs plain, 3x100 sigmoid MLP",
        summary=(
            "The same network with and without batch norm, same weights, same batches. Watch the "
            "15/50/85 percentile band of the last hidden layer's sigmoid input: without BN it drifts as "
            "the layers below change, with BN it stays put. BN reaches high validation accuracy far sooner."
        ),
        spec=ioffe_szegedy("BN vs plain, sigmoid (Ioffe & Szegedy Fig. 1)", {"name": "digits"}, 3000, 10, 5),
    ),
    Preset(
        id="normalize-inputs",
        title="Normalizing inputs: raw vs standardized features",
        summary=(
            "Breast-cancer features range from 0.001 to several thousand. The same network sees them raw "
            "and standardized (zero mean, unit variance from the training split), same batches, same lr. "
            "Look at hidden1's preact histogram: raw inputs push it far outside the edges, and the raw "
            "variant learns far more slowly or not at all."
        ),
        spec=ExperimentSpec.model_validate(
            {
                "name": "Raw vs standardized inputs (breast cancer)",
                "dataset": {"name": "breast_cancer", "standardize": True, "val_fraction": 0.25},
                "model": {"kind": "mlp", "hidden": [32, 32], "activation": "tanh", "init": "xavier"},
                "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.0},
                "batch_size": 32,
                "steps": 800,
                "seed": 0,
                "variants": [
                    {"label": "raw inputs", "standardize": False},
                    {"label": "standardized", "standardize": True},
                ],
                "probe": {"every": 10, "bins": 64, "eval_every": 3},
            }
        ),
        view=PresetView(layer="hidden1", tap="preact", chart="histograms"),
    ),
    Preset(
        id="bigger-lr",
        title="BN lets you use a bigger learning rate",
        summary=(
            "The same 3x100 sigmoid net at lr 0.1 and at 30x that, with and without BN. At the high rate "
            "the plain net blows up or stalls (its badge says diverged) while the BN net trains fastest "
            "of all: normalization keeps each layer's input in range whatever the weights' scale."
        ),
        spec=ExperimentSpec.model_validate(
            {
                "name": "Learning rate x30, plain vs BN",
                "dataset": {"name": "digits", "standardize": True},
                "model": {
                    "kind": "mlp",
                    "hidden": [100, 100, 100],
                    "activation": "sigmoid",
                    "init": "default",
                },
                "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9},
                "batch_size": 60,
                "steps": 800,
                "seed": 0,
                "variants": [
                    {"label": "plain, lr 0.1", "norm": "none"},
                    {"label": "BN, lr 0.1", "norm": "batch"},
                    {"label": "plain, lr 3", "norm": "none", "lr": 3.0},
                    {"label": "BN, lr 3", "norm": "batch", "lr": 3.0},
                ],
                "probe": {"every": 10, "bins": 64, "eval_every": 5},
            }
        ),
        view=PresetView(layer="hidden1", tap="normed", chart="grad"),
    ),
    Preset(
        id="before-after",
        title="BN before or after the activation?",
        summary=(
            "A 3x100 ReLU net: plain, BN before the ReLU (as in the paper) and BN after it. Both BN "
            "placements train well. Pick the normed tap: before the ReLU it is a unit Gaussian that the "
            "ReLU cuts in half; normalized after the ReLU, the values are centred again: many are negative."
        ),
        spec=ExperimentSpec.model_validate(
            {
                "name": "BN before vs after ReLU",
                "dataset": {"name": "digits", "standardize": True},
                "model": {"kind": "mlp", "hidden": [100, 100, 100], "activation": "relu", "init": "he"},
                "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
                "batch_size": 60,
                "steps": 600,
                "seed": 0,
                "variants": [
                    {"label": "plain", "norm": "none"},
                    {"label": "BN before ReLU", "norm": "batch", "placement": "before"},
                    {"label": "BN after ReLU", "norm": "batch", "placement": "after"},
                ],
                "probe": {"every": 10, "bins": 64, "eval_every": 5},
            }
        ),
        view=PresetView(layer="hidden2", tap="normed", chart="histograms"),
    ),
    Preset(
        id="deep-sigmoid",
        title="Deep sigmoid nets saturate (Glorot & Bengio)",
        summary=(
            "Five sigmoid layers with the standard init, with Xavier init, and with BN. Watch the top "
            "hidden layer's act band: without BN its outputs sink toward 0, the sigmoid's flat end, and the "
            "network stays at chance (here Xavier init does not rescue it either). With BN every layer "
            "stays centred around 0.5 and the net learns within a hundred steps. The grad tap shows why: "
            "without BN the gradient shrinks about sevenfold per layer on its way down, so the first layer "
            "gets ten thousand times less than the last; with BN every layer gets about the same."
        ),
        spec=ExperimentSpec.model_validate(
            {
                "name": "5 sigmoid layers: standard init, Xavier, BN",
                "dataset": {"name": "digits", "standardize": True},
                "model": {"kind": "mlp", "hidden": [100, 100, 100, 100, 100], "activation": "sigmoid"},
                "optimizer": {"name": "sgd", "lr": 0.5, "momentum": 0.0},
                "batch_size": 60,
                "steps": 1000,
                "seed": 0,
                "variants": [
                    {"label": "standard init", "init": "default"},
                    {"label": "Xavier init", "init": "xavier"},
                    {"label": "BN", "norm": "batch", "init": "default"},
                ],
                "probe": {"every": 10, "bins": 64, "eval_every": 5, "grad": True},
            }
        ),
        view=PresetView(layer="hidden5", tap="act", chart="bands"),
    ),
    Preset(
        id="train-vs-eval",
        title="Train mode vs eval mode: batch statistics vs running averages",
        summary=(
            "The same BN net with three running-average momenta. Validation in train mode (dashed) "
            "normalizes with each batch's own statistics; eval mode (solid) uses the running averages. "
            "With a small momentum the averages lag the moving weights, so eval mode trails train mode "
            "until they catch up; the BN internals chart shows batch and running statistics converge. "
            "At test time a single example has no batch: in train mode its prediction would depend on "
            "the examples batched with it (the batch dependence chart: the share of predictions that "
            "change when the validation set is batched anew, at batch 60 and in pairs), and PyTorch "
            "refuses a batch of one; eval mode gives every example its own, fixed answer."
        ),
        spec=ExperimentSpec.model_validate(
            {
                "name": "BN momentum 0.01 / 0.1 / 0.5: train vs eval mode",
                "dataset": {"name": "digits", "standardize": True},
                **FIGURE1_NET,
                "steps": 800,
                "variants": [
                    {"label": "BN momentum 0.01", "norm": "batch", "bn_momentum": 0.01},
                    {"label": "BN momentum 0.1", "norm": "batch", "bn_momentum": 0.1},
                    {"label": "BN momentum 0.5", "norm": "batch", "bn_momentum": 0.5},
                ],
                "probe": {"every": 10, "bins": 64, "eval_every": 1, "batch_dependence": True},
            }
        ),
        view=PresetView(layer="hidden3", tap="normed", chart="accuracy"),
    ),
    Preset(
        id="small-batches",
        title="Small batches hurt BN, not LayerNorm",
        summary=(
            "BN at batch 2, 4 and 64 against LayerNorm at batch 2 and 64. With a tiny batch each batch's "
            "mean and variance are noise: BN's train-mode and eval-mode accuracies part and its curves "
            "shake. LayerNorm normalizes each example on its own, so it does not care about the batch."
        ),
        spec=ExperimentSpec.model_validate(
            {
                "name": "BN vs LayerNorm at batch 2, 4, 64",
                "dataset": {"name": "digits", "standardize": True},
                "model": {"kind": "mlp", "hidden": [100, 100], "activation": "relu", "init": "he"},
                "optimizer": {"name": "sgd", "lr": 0.02, "momentum": 0.9},
                "batch_size": 64,
                "steps": 800,
                "seed": 0,
                "variants": [
                    {"label": "BN, batch 2", "norm": "batch", "batch_size": 2},
                    {"label": "BN, batch 4", "norm": "batch", "batch_size": 4},
                    {"label": "BN, batch 64", "norm": "batch"},
                    {"label": "LN, batch 2", "norm": "layer", "batch_size": 2},
                    {"label": "LN, batch 64", "norm": "layer"},
                ],
                "probe": {"every": 10, "bins": 64, "eval_every": 5},
            }
        ),
        view=PresetView(layer="hidden2", tap="normed", chart="accuracy"),
    ),
    Preset(
        id="panda",
        title="Babysitting one model (the panda): a learning-rate knob BN does not need",
        summary=(
            "A 4-layer tanh net at learning rate 0.5 with momentum, plain and with BN, at 20 steps a second. "
            "The plain net's validation accuracy peaks near step 100 and then sinks as the rate shakes it. "
            "Rescue it by hand: type 0.1 in its learning-rate field around step 150, and 0.02 around step "
            "450; it climbs to about 94%. The BN net keeps 0.5 throughout and reaches 97%: with BN the "
            "rate you start with is good enough. Each change is marked on the loss and accuracy charts."
        ),
        spec=ExperimentSpec.model_validate(
            {
                "name": "The panda: lr by hand, plain vs BN",
                "dataset": {"name": "digits"},
                "model": {"kind": "mlp", "hidden": [100, 100, 100, 100], "activation": "tanh"},
                "optimizer": {"name": "sgd", "lr": 0.5, "momentum": 0.9},
                "batch_size": 60,
                "steps": 1500,
                "seed": 0,
                "pace": 20,
                "variants": [{"label": "plain"}, {"label": "BN", "norm": "batch"}],
                "probe": {"every": 10, "bins": 32, "eval_every": 2},
            }
        ),
        view=PresetView(layer="hidden4", tap="act", chart="accuracy"),
    ),
    *(
        Preset(
            id=f"search-{kind}",
            title=f"Search, {title}: 25 runs over learning rate and momentum",
            summary=(
                f"{how} Open the sweep charts: validation accuracy against the learning rate (log axis) "
                "and against 1 − β (log axis), and all of them in parallel coordinates. Launch the other "
                "of the pair (grid, random) to compare: the same 25 runs try 5 learning rates on the grid "
                "and 25 at random, and the learning rate is what matters most here."
            ),
            spec=ExperimentSpec.model_validate(
                {
                    "name": f"Hyperparameter search: {title}",
                    **SEARCH_NET,
                    "steps": 400,
                    "sweep": {"params": params, "norms": ["none"], "seed": 1, **extra},
                    "probe": {"every": 20, "bins": 16, "eval_every": 5},
                }
            ),
            view=PresetView(layer="hidden3", tap="act", chart="sweep"),
        )
        for kind, title, how, params, extra in (
            (
                "grid",
                "a 5×5 grid",
                "Learning rates 0.001, 0.01, 0.1, 1 and 10, each with β = 0, 0.5, 0.9, 0.99 and 0.999.",
                {
                    "optimizer.lr": {"grid": [0.001, 0.01, 0.1, 1.0, 10.0]},
                    "optimizer.momentum": {"grid": [0.0, 0.5, 0.9, 0.99, 0.999]},
                },
                {},
            ),
            (
                "random",
                "25 random points",
                "25 points drawn at random: the learning rate log-uniform from 0.001 to 10, β through 1 − β "
                "log-uniform from 0.001 to 1.",
                {
                    "optimizer.lr": {"log_uniform": [0.001, 10.0]},
                    "optimizer.momentum": {"one_minus_log_uniform": [0.001, 0.999]},
                },
                {"n": 25},
            ),
        )
    ),
    Preset(
        id="lr-sweep",
        title="Hyperparameter search gets easier with BN",
        summary=(
            f"{SWEEP_LRS} learning rates drawn at random on a log scale from 0.001 to 10, each trained "
            "with and without BN in lockstep. Open the learning-rate chart: the band of learning rates "
            "that reach high accuracy is much wider with BN, so a random search finds one far sooner."
        ),
        spec=ExperimentSpec.model_validate(
            {
                "name": "Random learning-rate search, plain vs BN",
                **SEARCH_NET,
                "steps": 500,
                "sweep": {
                    "n": SWEEP_LRS,
                    "seed": 3,
                    "params": {"optimizer.lr": {"log_uniform": [1e-3, 10.0]}},
                    "norms": ["none", "batch"],
                },
                "probe": {"every": 20, "bins": 32, "eval_every": 5},
            }
        ),
        view=PresetView(layer="hidden3", tap="normed", chart="sweep"),
    ),
    Preset(
        id="landscape",
        title="Why does BN help? A smoother loss landscape (Santurkar et al. 2018)",
        summary=(
            "Every other frame the landscape probe stops on the current batch and walks along the "
            "gradient at 0.25 to 4 times the learning rate, then puts every weight back. Once the plain "
            "net leaves its plateau (around step 200), its loss band (how much the loss changes along "
            "that walk) is wider, its gradient changes about ten times more (gradient predictiveness) "
            "and its effective β-smoothness is several times larger than the BN net's. The covariate "
            "shift chart shows cos(G, G′): how far a layer's gradient turns once the layers below it "
            "take their step; on its early plateau the plain net's landscape is flat."
        ),
        spec=ExperimentSpec.model_validate(
            {
                "name": "6×64 ReLU on 5 spirals: the loss landscape with and without BN",
                "dataset": {"name": "spirals", "n_samples": 6000, "n_classes": 5, "noise": 0.2},
                "model": {"kind": "mlp", "hidden": [64] * 6, "activation": "relu", "init": "he"},
                "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
                "batch_size": 128,
                "steps": 800,
                "seed": 0,
                "variants": [{"label": "plain"}, {"label": "BN", "norm": "batch"}],
                "probe": {"every": 10, "bins": 64, "eval_every": 5, "landscape_every": 2},
            }
        ),
        view=PresetView(layer="hidden4", tap="normed", chart="landscape"),
    ),
    Preset(
        id="mnist-ioffe",
        title="Ioffe & Szegedy, Figure 1, on real MNIST: 3x100 sigmoid, batch 60",
        summary=(
            "The paper's own setting: 28x28 MNIST digits, three sigmoid layers of 100, batch 60, the "
            "same weights and batches with and without BN. The BN net passes 95% validation accuracy "
            "within a few thousand steps while the plain one is still climbing; the 15/50/85 percentile "
            "band of the last hidden layer's sigmoid input drifts without BN and stays put with it."
        ),
        spec=ioffe_szegedy("BN vs plain on MNIST (Ioffe & Szegedy Fig. 1)", {"name": "mnist"}, 20000, 20, 10),
    ),
    Preset(
        id="cifar-vgg",
        title="VGG-16 on CIFAR-10: with BN it trains at lr 0.1, without it stays at chance",
        summary=(
            "VGG-16 three ways on CIFAR-10 (crop and flip on the GPU): with BN at lr 0.1, without BN at "
            "lr 0.1, and without BN at lr 0.01. The BN net passes 85% validation accuracy; the plain net at "
            "the same learning rate stays at 10%, and its last layers' ReLU outputs are all zero (the act "
            "histogram is one spike at 0, the saturation chart at 100%). At lr 0.01 the plain net trains, "
            "slower: BN is what makes the high learning rate usable."
        ),
        spec=ExperimentSpec.model_validate(
            {
                "name": "VGG-16 on CIFAR-10, plain vs BN at lr 0.1",
                "dataset": {"name": "cifar10"},
                "model": {"kind": "vgg", "depth": 16, "width": 64, "activation": "relu", "init": "he"},
                "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 5e-4},
                "batch_size": 128,
                "steps": 8000,
                "precision": "bf16",
                "seed": 0,
                "variants": [
                    {"label": "BN", "norm": "batch"},
                    {"label": "plain", "norm": "none"},
                    {"label": "plain lr 0.01", "norm": "none", "lr": 0.01},
                ],
                "probe": {"every": 20, "bins": 64, "eval_every": 10},
            }
        ),
        view=PresetView(layer="stage5.conv3", tap="act", chart="histograms"),
    ),
    Preset(
        id="cifar-resnet",
        title="ResNet-20 on CIFAR-10, with and without BN",
        summary=(
            "He et al.'s 20-layer CIFAR ResNet with and without BN. Without a norm the residual stream "
            "adds up block after block, so each block's branch is scaled by a learnable scalar that starts "
            "at 0 (SkipInit): the plain net starts as a shallow one and trains, slower and less far than "
            "the BN one. Watch the percentile bands of the last block: BN keeps each branch at unit scale, "
            "which is what lets it down-weight the branches the way SkipInit does by hand."
        ),
        spec=cifar_resnet(20),
        view=PresetView(layer="stage3.block3.conv2", tap="preact", chart="bands"),
    ),
    Preset(
        id="cifar-resnet56",
        title="ResNet-56 on CIFAR-10, with and without BN",
        summary=(
            "The same lesson 56 layers deep: 27 residual blocks. With BN it trains past ResNet-20; "
            "without a norm it needs SkipInit to train at all, and stays behind. The layer picker groups "
            "the 56 layers by stage."
        ),
        spec=cifar_resnet(56),
        view=PresetView(layer="stage3.block9.conv2", tap="preact", chart="bands"),
    ),
    Preset(
        id="shapes-vgg",
        title="The VGG lesson anywhere: VGG-11 on generated shapes, no download",
        summary=(
            "The cifar-vgg lesson on 32x32 images of ten figures generated from the seed, small enough "
            "for a laptop CPU. With BN, VGG-11 at lr 0.1 passes 90% validation accuracy in 300 steps; "
            "without BN at the same rate it stays at chance (10%) and its last layers' ReLUs output only "
            "zeros (act histogram, saturation 100%); without BN at lr 0.01 it trains, later."
        ),
        spec=ExperimentSpec.model_validate(
            {
                "name": "VGG-11 on shapes, plain vs BN at lr 0.1",
                "dataset": {"name": "shapes"},
                "model": {"kind": "vgg", "depth": 11, "width": 8, "activation": "relu", "init": "he"},
                "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9},
                "batch_size": 64,
                "steps": 300,
                "seed": 0,
                "variants": [
                    {"label": "BN", "norm": "batch"},
                    {"label": "plain", "norm": "none"},
                    {"label": "plain lr 0.01", "norm": "none", "lr": 0.01},
                ],
                "probe": {"every": 10, "bins": 64, "eval_every": 5},
            }
        ),
        view=PresetView(layer="stage5.conv2", tap="act", chart="histograms"),
    ),
]


def get_preset(preset_id: str) -> Preset:
    for p in PRESETS:
        if p.id == preset_id:
            return p
    raise KeyError(f"unknown preset {preset_id!r}; known: {', '.join(p.id for p in PRESETS)}")
