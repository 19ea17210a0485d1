"""SST-2 and rt-polarity peers: TF-IDF(1-2)+LogisticRegression and fastText bigrams.

Prints `result: name=value` lines. Usage: peers_sst2.py sst2 DATA_DIR | rt FILE
"""
import sys, time, csv, random, os, tempfile
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression


def read_tsv(path):
    texts, labels = [], []
    with open(path, encoding="utf-8", newline="") as f:
        lines = f.read().splitlines()
    for line in lines[1:]:
        if not line.strip():
            continue
        label, text = line.split("\t", 1)
        texts.append(text)
        labels.append(label.strip())
    return texts, labels


def tfidf_lr():
    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True), LogisticRegression(max_iter=1000)


def sst2(data):
    tr_x, tr_y = read_tsv(os.path.join(data, "train.tsv"))
    dv_x, dv_y = read_tsv(os.path.join(data, "dev.tsv"))
    t0 = time.time()
    vec, lr = tfidf_lr()
    lr.fit(vec.fit_transform(tr_x), tr_y)
    train_s = time.time() - t0
    acc = np.mean(lr.predict(vec.transform(dv_x)) == np.array(dv_y))
    batch = (dv_x * (20000 // len(dv_x) + 1))[:20000]
    t0 = time.time()
    lr.predict_proba(vec.transform(batch))
    sps = len(batch) / (time.time() - t0)
    print(f"result: tfidf_lr_dev_accuracy={acc * 100}")
    print(f"result: tfidf_lr_train_seconds={train_s}")
    print(f"result: tfidf_lr_sentences_per_second={sps}")
    try:
        import fasttext
    except ImportError:
        print("result: fasttext_missing=1")
        return
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        for x, y in zip(tr_x, tr_y):
            f.write(f"__label__{y} {x}\n")
        path = f.name
    t0 = time.time()
    model = fasttext.train_supervised(path, wordNgrams=2, epoch=5, lr=0.5, verbose=0, thread=1, seed=1) if "seed" in fasttext.train_supervised.__code__.co_varnames else fasttext.train_supervised(path, wordNgrams=2, epoch=5, lr=0.5, verbose=0, thread=1)
    train_s = time.time() - t0
    os.unlink(path)
    labels, _ = model.predict([x.replace("\n", " ") for x in dv_x])
    acc = np.mean([l[0].replace("__label__", "") == y for l, y in zip(labels, dv_y)])
    t0 = time.time()
    model.predict([x.replace("\n", " ") for x in batch])
    sps = len(batch) / (time.time() - t0)
    print(f"result: fasttext_dev_accuracy={acc * 100}")
    print(f"result: fasttext_train_seconds={train_s}")
    print(f"result: fasttext_sentences_per_second={sps}")


def rt(path):
    x, y = read_tsv(path)
    order = list(range(len(x)))
    random.Random(7).shuffle(order)
    correct = 0
    t0 = time.time()
    for fold in range(10):
        test = [order[i] for i in range(len(order)) if i % 10 == fold]
        ts = set(test)
        train = [i for i in range(len(x)) if i not in ts]
        vec, lr = tfidf_lr()
        lr.fit(vec.fit_transform([x[i] for i in train]), [y[i] for i in train])
        pred = lr.predict(vec.transform([x[i] for i in test]))
        correct += sum(p == y[i] for p, i in zip(pred, test))
    print(f"result: tfidf_lr_cv_accuracy={correct / len(x) * 100}")
    print(f"result: tfidf_lr_cv_seconds={time.time() - t0}")


if __name__ == "__main__":
    {"sst2": sst2, "rt": rt}[sys.argv[1]](sys.argv[2])
