"""The peer of benchmarks/transform/run: how users score a file today.

  peer.py train TRAIN.csv MODEL.txt            LightGBM, 500 trees, 31 leaves (Trainyard's settings)
  peer.py score MODEL.txt INPUT.csv OUTPUT.csv THREADS
      pandas read_csv → LightGBM predict (THREADS threads) → to_csv; prints the seconds of those
      three steps and the rows, as JSON.
"""
import json, sys, time
import pandas as pd
import lightgbm as lgb

CATS = ["cut", "color", "clarity"]

if sys.argv[1] == "train":
    train = pd.read_csv(sys.argv[2])
    X, y = train.drop(columns="price"), train.price.values
    for c in CATS:
        X[c] = X[c].astype("category")
    model = lgb.LGBMRegressor(n_estimators=500, num_leaves=31, learning_rate=0.05, n_jobs=2, verbose=-1).fit(X, y)
    model.booster_.save_model(sys.argv[3])
    # The categories, in the training order, for scoring.
    json.dump({c: list(X[c].cat.categories) for c in CATS}, open(sys.argv[3] + ".categories.json", "w"))
else:
    model_path, input_path, output_path, threads = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    booster = lgb.Booster(model_file=model_path)
    categories = json.load(open(model_path + ".categories.json"))
    start = time.perf_counter()
    frame = pd.read_csv(input_path)
    X = frame.drop(columns=["price"], errors="ignore")
    for c in CATS:
        X[c] = pd.Categorical(X[c], categories=categories[c])
    predictions = booster.predict(X, num_threads=threads)
    pd.DataFrame({"prediction": predictions}).to_csv(output_path, index=False)
    seconds = time.perf_counter() - start
    print(json.dumps({"rows": len(frame), "seconds": seconds}))
