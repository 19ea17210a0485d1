"""Flask peer for benchmarks/serving: the replaced systems' shape (one Flask app, gunicorn).

Trains, at import, scikit-learn equivalents of the two Trainyard models on the same example data:
- diamonds: one-hot categoricals + HistGradientBoostingRegressor (gbdt) → POST /diamonds {"inputs": [row]}
- sentiment: TF-IDF word 1-2 grams + LogisticRegression → POST /predict {"text"} → {"score"}
"""
import csv, os
from flask import Flask, jsonify, request
import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

# One thread per worker process: gunicorn runs 2 single-threaded workers on 2 cores, so OpenMP/BLAS
# pools inside predict would only oversubscribe (the run script also exports OMP_NUM_THREADS=1).
threadpool_limits(1)

root = os.environ.get("TRAINYARD_EXAMPLES", os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
rows = list(csv.DictReader(open(os.path.join(root, "diamonds-price", "train-part1.csv"))))
categorical = ["cut", "color", "clarity"]
numeric = ["carat", "depth", "table", "x", "y", "z"]
levels = {c: sorted({r[c] for r in rows}) for c in categorical}

def encode(r):
    v = [float(r[c]) for c in numeric]
    for c in categorical:
        v.extend(1.0 if r[c] == level else 0.0 for level in levels[c])
    return v

diamonds = HistGradientBoostingRegressor(max_iter=300, learning_rate=0.1, random_state=0).fit(
    np.array([encode(r) for r in rows]), np.array([float(r["price"]) for r in rows]))

texts, labels = [], []
with open(os.path.join(root, "sentiment", "reviews.tsv")) as f:
    for r in csv.DictReader(f, delimiter="\t"):
        texts.append(r["text"]); labels.append(r["label"])
vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=1)
sentiment = LogisticRegression(max_iter=1000).fit(vectorizer.fit_transform(texts), labels)
positive = list(sentiment.classes_).index("1") if "1" in sentiment.classes_ else 1

app = Flask(__name__)

@app.post("/diamonds")
def predict_diamonds():
    inputs = request.get_json()["inputs"]
    return jsonify({"predictions": diamonds.predict(np.array([encode(r) for r in inputs])).tolist()})

@app.post("/predict")
def predict_sentiment():
    text = request.get_json()["text"]
    return jsonify({"score": float(sentiment.predict_proba(vectorizer.transform([text]))[0][positive])})
