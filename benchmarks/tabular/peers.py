"""Python peers for benchmarks/tabular/run: prints one JSON object per line. Single thread
(OMP_NUM_THREADS=1, LightGBM n_jobs=1), like the reference figures in shared/data/README.md.

Same files and split as Trainyard: data/train80.csv (fit), data/test20.csv (score).
"""
import json, sys, time, os
import numpy as np
import pandas as pd

data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
train = pd.read_csv(os.path.join(data, "train80.csv"))
test = pd.read_csv(os.path.join(data, "test20.csv"))
cats = ["cut", "color", "clarity"]
nums = [c for c in train.columns if c not in cats + ["price"]]
X, y = train.drop(columns="price"), train.price.values
Xt, yt = test.drop(columns="price"), test.price.values


def metrics(p):
    err = p - yt
    return {"rmse": float(np.sqrt(np.mean(err ** 2))), "mae": float(np.mean(np.abs(err))),
            "r2": float(1 - np.sum(err ** 2) / np.sum((yt - yt.mean()) ** 2))}


def bench(name, make, Xtr, Xte, predict_rows=1_000_000):
    times, model = [], None
    for _ in range(repeats):
        t = time.time(); model = make().fit(Xtr, y); times.append(time.time() - t)
    big = pd.concat([Xte] * (predict_rows // len(Xte) + 1), ignore_index=True)
    if isinstance(Xte, pd.DataFrame):
        for c in Xte.columns:
            if str(Xte[c].dtype) == "category":
                big[c] = big[c].astype(Xte[c].dtype)
    pt = []
    for _ in range(3):
        t = time.time(); model.predict(big); pt.append(time.time() - t)
    print(json.dumps({"peer": name, "train_seconds_median": float(np.median(times)), "train_seconds": times,
                      "test_metrics": metrics(model.predict(Xte)),
                      "predict_rows_per_second": len(big) / float(np.median(pt))}), flush=True)
    return model


import lightgbm as lgb
Xl, Xlt = X.copy(), Xt.copy()
for c in cats:
    Xl[c] = Xl[c].astype("category")
    Xlt[c] = Xlt[c].astype(pd.CategoricalDtype(Xl[c].cat.categories))
# LightGBM: separate so predict can pin one thread.
times = []
for _ in range(repeats):
    t = time.time(); lg = lgb.LGBMRegressor(n_estimators=500, n_jobs=1, verbose=-1).fit(Xl, y); times.append(time.time() - t)
big = pd.concat([Xlt] * (1_000_000 // len(Xlt) + 1), ignore_index=True)
for c in cats:
    big[c] = big[c].astype(Xlt[c].dtype)
for threads, label in [(1, "1 thread")]:
    pt = []
    for _ in range(3):
        t = time.time(); lg.predict(big, num_threads=threads); pt.append(time.time() - t)
    print(json.dumps({"peer": "LightGBM 500 trees (1 thread)", "train_seconds_median": float(np.median(times)),
                      "train_seconds": times, "test_metrics": metrics(lg.predict(Xlt)),
                      "predict_rows_per_second": len(big) / float(np.median(pt))}), flush=True)

from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.neural_network import MLPRegressor
from sklearn.linear_model import Ridge, LogisticRegression
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler, OrdinalEncoder
from sklearn.pipeline import make_pipeline
from sklearn.model_selection import cross_val_score

hgb = lambda: make_pipeline(ColumnTransformer([("c", OrdinalEncoder(), cats)], remainder="passthrough"),
                            HistGradientBoostingRegressor(categorical_features=[0, 1, 2], random_state=0))
bench("sklearn HistGradientBoostingRegressor", hgb, X, Xt)
dense = lambda: ColumnTransformer([("c", OneHotEncoder(handle_unknown="ignore"), cats), ("n", StandardScaler(), nums)])
bench("sklearn MLPRegressor(64,64)", lambda: make_pipeline(dense(), MLPRegressor(hidden_layer_sizes=(64, 64), random_state=0)), X, Xt,
      predict_rows=200_000)
bench("sklearn Ridge", lambda: make_pipeline(dense(), Ridge(alpha=1.0)), X, Xt)

iris = pd.read_csv(sys.argv[2]) if len(sys.argv) > 2 else None
if iris is not None:
    from sklearn.model_selection import PredefinedSplit
    Xi, yi = iris.drop(columns="species"), iris.species
    # Trainyard's folds (tabular-bench cv): each class's rows dealt round-robin in file order.
    seen, fold = {}, []
    for label in yi:
        fold.append(seen.get(label, 0) % 5)
        seen[label] = seen.get(label, 0) + 1
    same = PredefinedSplit(fold)
    s = cross_val_score(LogisticRegression(max_iter=1000), Xi, yi, cv=5)
    print(json.dumps({"peer": "sklearn LogisticRegression (sklearn's own StratifiedKFold folds)", "iris_cv_accuracy": float(s.mean())}), flush=True)
    s = cross_val_score(LogisticRegression(max_iter=1000), Xi, yi, cv=same)
    print(json.dumps({"peer": "sklearn LogisticRegression (Trainyard's folds)", "iris_cv_accuracy": float(s.mean())}), flush=True)
    s = cross_val_score(lgb.LGBMClassifier(n_jobs=1, verbose=-1), Xi, yi, cv=same)
    print(json.dumps({"peer": "LightGBM defaults (Trainyard's folds)", "iris_cv_accuracy": float(s.mean())}), flush=True)
