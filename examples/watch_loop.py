"""Watch your own PyTorch loop with normscope: a small CNN with and without BatchNorm, trained side by side.

make run                                   # in one terminal: prints the URL and the presenter token
NORMSCOPE_TOKEN=<token> python examples/watch_loop.py --server http://127.0.0.1:8000
python examples/watch_loop.py --out frames.jsonl   # offline; then: normscope import frames.jsonl
"""

import argparse

import torch
import torch.nn.functional as F
from torch import nn

import normscope


def make_net(bn: bool) -> nn.Module:
    norm = nn.BatchNorm2d if bn else lambda c: nn.Identity()
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), norm(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1, stride=2), norm(32), nn.ReLU(),
        nn.Flatten(), nn.Linear(32 * 8 * 8, 10),
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--server", help="a normscope server's URL (token from NORMSCOPE_TOKEN)")
    where.add_argument("--out", help="write JSON lines here instead")
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()

    torch.manual_seed(0)
    nets = {"plain": make_net(bn=False), "BN": make_net(bn=True)}
    opts = {k: torch.optim.SGD(n.parameters(), lr=0.05, momentum=0.9) for k, n in nets.items()}
    # a toy task: which quadrant of a 16x16 image holds the bright blob (stand-in for your DataLoader)
    g = torch.Generator().manual_seed(0)

    def batch(size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.randint(0, 4, (size,), generator=g)
        x = torch.randn(size, 1, 16, 16, generator=g) * 0.5
        for i, q in enumerate(y.tolist()):
            r, c = divmod(q, 2)
            x[i, 0, r * 8 : r * 8 + 8, c * 8 : c * 8 + 8] += 1.0
        return x, y

    with normscope.watch(
        nets, server=args.server, out=args.out, every=10, steps=args.steps, name="my CNN"
    ) as s:
        if s.url:
            print(f"watch it at {s.url} (after the first step)")
        for step in range(args.steps):
            x, y = batch()
            losses = {}
            for k, net in nets.items():
                loss = F.cross_entropy(net(x), y)
                opts[k].zero_grad()
                loss.backward()
                opts[k].step()
                losses[k] = loss  # a tensor: watch reads it on its own thread, only on sampled steps
            s.step(loss=losses)
            if step % 50 == 49:
                x, y = batch(256)
                with torch.no_grad():
                    for net in nets.values():
                        net.eval()
                    s.log(val_acc={k: (net(x).argmax(1) == y).float().mean() for k, net in nets.items()})
                    for net in nets.values():
                        net.train()
    print(f"done: {s.step_count} steps" + (f", {s.dropped} frames dropped" if s.dropped else ""))


if __name__ == "__main__":
    main()
