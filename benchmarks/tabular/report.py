"""Formats benchmarks/tabular/out/*.jsonl as the markdown report."""
import json, os, sys, platform, datetime, subprocess

out, repeats = sys.argv[1], sys.argv[2]
load = lambda name: [json.loads(l) for l in open(os.path.join(out, name)) if l.strip()]
ty, peers, iris, warm = load("trainyard.jsonl"), load("peers.jsonl"), load("iris.jsonl"), load("warm.jsonl")

cpu = "unknown CPU"
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip(); break
except OSError:
    pass
print(f"# Tabular benchmark ({datetime.date.today().isoformat()})\n")
print(f"Machine: {cpu}, {os.cpu_count()} cores (shared with other jobs while measuring), {platform.system()} {platform.release()}.")
print(f"Data: diamonds `train.csv`, fixed split: every 5th data row → test (8,630 rows), the rest → train (34,522 rows).")
print(f"Trainyard trains with its defaults: 15 % of the training rows held out for early stopping / metrics.")
print(f"Train seconds: median of {repeats} runs of the whole `TabularLearning.train` call (CSV parsing included).")
print("Predict rows/s: pre-parsed rows, test rows repeated to ≥ 1,000,000 (200,000 for MLPs).")
print("Threads: Trainyard uses both cores (training and prediction); the Python peers run single-threaded")
print("(OMP_NUM_THREADS=1, LightGBM n_jobs=1), as in the reference table of shared/data/README.md.\n")
print("| model | test RMSE | MAE | R² | train s | predict rows/s |")
print("|---|---:|---:|---:|---:|---:|")
def row(name, d):
    m = d["test_metrics"]
    print(f"| {name} | {m['rmse']:.1f} | {m['mae']:.1f} | {m['r2']:.4f} | {d['train_seconds_median']:.2f} | {d['predict_rows_per_second']:,.0f} |")
for d in ty:
    extra = f" ({d['epochs']} rounds/epochs run)" if d["algorithm"] != "linear" else ""
    row(f"Trainyard {d['algorithm']}{extra}", d)
for d in peers:
    if "test_metrics" in d:
        row(d["peer"], d)

by = {d["algorithm"]: d for d in ty}
pk = {d["peer"]: d for d in peers}
def ratio(a, b, key):
    if a is None or b is None: return "n/a"
    x = a["test_metrics"]["rmse"] if key == "rmse" else a[key]
    y = b["test_metrics"]["rmse"] if key == "rmse" else b[key]
    return f"{x / y:.3f}"
pairs = [("gbdt", "LightGBM 500 trees (1 thread)"), ("gbdt", "sklearn HistGradientBoostingRegressor"),
         ("mlp", "sklearn MLPRegressor(64,64)"), ("linear", "sklearn Ridge")]
print("\nRatios (Trainyard / peer; RMSE and train time: lower is better; predict rows/s: higher is better):\n")
print("| Trainyard | peer | RMSE ratio | train time ratio | predict rows/s ratio |")
print("|---|---|---:|---:|---:|")
for a, b in pairs:
    if a in by and b in pk:
        print(f"| {a} | {b} | {ratio(by[a], pk[b], 'rmse')} | {ratio(by[a], pk[b], 'train_seconds_median')} | {ratio(by[a], pk[b], 'predict_rows_per_second')} |")

print("\n## Iris, 5-fold stratified CV accuracy\n")
print("Trainyard's folds: each class's rows dealt round-robin in file order (`tabular-bench cv`).\n")
print("| model | accuracy |")
print("|---|---:|")
for d in iris:
    print(f"| Trainyard {d['algorithm']} | {100 * d['cv_accuracy']:.1f} % |")
for d in peers:
    if "iris_cv_accuracy" in d:
        print(f"| {d['peer']} | {100 * d['iris_cv_accuracy']:.1f} % |")

print("\n## Continuous training (warm start)\n")
print("v1 trained on `train-part1.csv`, v2 warm-started from v1's checkpoint on `train-part2.csv` (both without the test rows); RMSE on the same test split.\n")
print("| algorithm | v1 RMSE | v2 RMSE | v2 lower | warm-start train s |")
print("|---|---:|---:|---|---:|")
for d in warm:
    r1, r2 = d["v1_test_metrics"]["rmse"], d["v2_test_metrics"]["rmse"]
    print(f"| {d['algorithm']} | {r1:.1f} | {r2:.1f} | {'yes' if r2 < r1 else 'no'} | {d['warm_seconds']:.2f} |")
print("\nParameters (Trainyard defaults):\n")
for d in ty:
    print(f"- {d['algorithm']}: " + ", ".join(f"{k}={v}" for k, v in sorted(d["params"].items())))
