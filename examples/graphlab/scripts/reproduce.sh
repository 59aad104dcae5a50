#!/usr/bin/env bash
# Reproduce every number of the README tables.
set -euo pipefail
cd "$(dirname "$0")/../citation"
for ds in cora citeseer pubmed; do
  python train.py --dataset "$ds" --model gcn
  python train.py --dataset "$ds" --model gat --hidden 8
  python train.py --dataset "$ds" --model arma --num-stacks 2
done
cd ..
python link_prediction/train_link.py --dataset cora --neg-sampler degree
