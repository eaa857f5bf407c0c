"""Write tests/data/search_k1_golden.json from the search before leaf batching (one leaf per call)."""

import json

import torch

from agents import mcts
from agents.leaf_evaluators import network_evaluator
from agents.mcts import SearchSettings
from agents.network import load_policy_value_net
from envs import state as state_ops

net, game = load_policy_value_net("tests/data/search_one_leaf_golden_net.pt")  # the bundled model of then
ev = network_evaluator(net, "cpu")
MOVES = [[], [3, 3, 2], [3, 0, 3, 0, 3], [0, 6, 1, 6, 2, 5]]


def play(moves_list):
    rows = []
    for moves in moves_list:
        s = game.init(1)
        for a in moves:
            s = game.step(s, torch.tensor([a]))
        rows.append(s)
    return state_ops.cat(rows)


CASES = {
    "puct": dict(num_simulations=60),
    "puct_fpu_forced": dict(num_simulations=60, fpu_reduction=0.2, forced_playouts=True, c_puct=2.0),
    "gumbel": dict(num_simulations=24, gumbel=True, max_considered_actions=4),
}
out = {"moves": MOVES, "cases": {}}
with torch.no_grad():
    for name, kw in CASES.items():
        for batch in ("single", "batch"):
            sets = [[m] for m in MOVES] if batch == "single" else [MOVES]
            res = []
            for ms in sets:
                st = play(ms)
                g = torch.Generator().manual_seed(1)
                r = mcts.search(game, st, ev, SearchSettings(**kw), generator=g)
                # one more search on the reused tree
                t2 = mcts.advance_tree(r.tree, r.action)
                st2 = game.step(st, r.action, check=False)
                r2 = mcts.search(game, st2, ev, SearchSettings(**kw), tree=t2, generator=g)
                res.append(
                    {
                        "visits": r.visits.tolist(),
                        "value": r.value.tolist(),
                        "action": r.action.tolist(),
                        "visits2": r2.visits.tolist(),
                        "value2": r2.value.tolist(),
                    }
                )
            out["cases"][f"{name}_{batch}"] = {"settings": kw, "results": res}
json.dump(out, open("tests/data/search_one_leaf_golden.json", "w"))
print("ok")
