"""Nearest-centroid iris classifier: a stdlib-only example of Trainyard's training contract.

Reads the `train` channel from TRAINYARD_INPUT_DIR, holds out every `validation_every`-th row,
writes the model (class centroids as JSON) to TRAINYARD_MODEL_DIR, and reports metrics as
`metric: name=value` lines and metrics.json.
"""
import csv, glob, json, math, os, sys

def main():
    params = json.load(open(os.environ["TRAINYARD_HYPERPARAMETERS"]))
    every = int(params.get("validation_every", 5))
    files = glob.glob(os.path.join(os.environ["TRAINYARD_INPUT_DIR"], "train", "*"))
    if not files:
        fail("no training data in the train channel")
    rows = list(csv.DictReader(open(files[0], newline="")))
    features = [c for c in rows[0].keys() if c != "species"]
    train = [r for i, r in enumerate(rows) if i % every != 0]
    valid = [r for i, r in enumerate(rows) if i % every == 0]
    sums, counts = {}, {}
    for r in train:
        v = [float(r[f]) for f in features]
        s = sums.setdefault(r["species"], [0.0] * len(v))
        for j, x in enumerate(v):
            s[j] += x
        counts[r["species"]] = counts.get(r["species"], 0) + 1
    centroids = {c: [x / counts[c] for x in s] for c, s in sums.items()}
    correct = 0
    for step, r in enumerate(valid, 1):
        v = [float(r[f]) for f in features]
        guess = min(centroids, key=lambda c: math.dist(v, centroids[c]))
        correct += guess == r["species"]
        print(f"metric: running_accuracy={correct / step:.4f} step={step}")
    accuracy = correct / len(valid)
    model_dir = os.environ["TRAINYARD_MODEL_DIR"]
    json.dump({"features": features, "centroids": centroids}, open(os.path.join(model_dir, "model.json"), "w"))
    json.dump({"accuracy": accuracy}, open(os.path.join(model_dir, "metrics.json"), "w"))
    print(f"metric: accuracy={accuracy:.4f}")

def fail(reason):
    open(os.path.join(os.environ["TRAINYARD_OUTPUT_DIR"], "failure"), "w").write(reason)
    sys.exit(1)

if __name__ == "__main__":
    main()
