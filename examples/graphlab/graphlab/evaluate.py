"""Evaluate a saved model checkpoint on a split."""

import argparse

import numpy as np


def main():
    parser = argparse.ArgumentParser(description="Evaluate a saved graphlab checkpoint.")
    parser.add_argument("--checkpoint", required=True, help="Path to a .npz file written by train.py.")
    parser.add_argument("--split", default="test", choices=["train", "val", "test"], help="Which split to score.")
    args = parser.parse_args()
    weights = np.load(args.checkpoint)
    print(f"loaded {len(weights.files)} arrays from {args.checkpoint}; split={args.split}")


if __name__ == "__main__":
    main()
