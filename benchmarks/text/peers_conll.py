"""CoNLL-2003 peer: sklearn-crfsuite (L-BFGS, c1=0.1, c2=0.1, 100 iterations) with rich word
features (identity, lowercase, shape, prefixes/suffixes 1-4, flags, words and shapes at ±1/±2,
bigrams). Token column only, no POS/chunk columns: the same input Trainyard's raw-text NER sees.

Scored with a conlleval-equivalent entity scorer (exact span + type). Prints `result:` lines.
Usage: peers_conll.py DATA_DIR
"""
import os, re, sys, time
import sklearn_crfsuite


def read_conll(path):
    sents, toks, tags = [], [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if not parts:
                if toks:
                    sents.append((toks, tags))
                toks, tags = [], []
                continue
            if parts[0] == "-DOCSTART-":
                continue
            toks.append(parts[0])
            tags.append(parts[-1])
    if toks:
        sents.append((toks, tags))
    return sents


def shape(w):
    return re.sub("[A-Z]", "X", re.sub("[a-z]", "x", re.sub("[0-9]", "d", w)))


def short_shape(w):
    return re.sub(r"(.)\1+", r"\1", shape(w))


def word_features(sent, i):
    w = sent[i]
    f = {
        "bias": 1.0, "w": w, "lw": w.lower(), "shape": shape(w)[:12], "sshape": short_shape(w),
        "title": w.istitle(), "upper": w.isupper(), "lower": w.islower(), "digit": w.isdigit(),
        "hasdigit": any(c.isdigit() for c in w), "hyphen": "-" in w, "len": min(len(w), 8),
    }
    for k in range(1, 5):
        if len(w) >= k:
            f[f"p{k}"] = w[:k].lower()
            f[f"s{k}"] = w[-k:].lower()
    for off in (-2, -1, 1, 2):
        j = i + off
        if 0 <= j < len(sent):
            f[f"{off}:lw"] = sent[j].lower()
            f[f"{off}:sshape"] = short_shape(sent[j])
            if abs(off) == 1:
                f[f"{off}:title"] = sent[j].istitle()
                f[f"{off}:upper"] = sent[j].isupper()
                f[f"{off}:s3"] = sent[j][-3:].lower()
        else:
            f[f"{off}:pad"] = True
    if i > 0:
        f["bigram-1"] = sent[i - 1].lower() + "|" + w.lower()
    if i + 1 < len(sent):
        f["bigram+1"] = w.lower() + "|" + sent[i + 1].lower()
    return f


def sent_features(sent):
    return [word_features(sent, i) for i in range(len(sent))]


def chunks(tags):
    """conlleval's chunk rules (IOB1/IOB2/BIOES)."""
    out, start, prev_tag, prev_type = [], -1, "O", ""
    def split(t):
        if t == "O":
            return "O", ""
        if len(t) > 1 and t[1] == "-":
            return t[0], t[2:]
        return "I", t
    for i, t in enumerate(tags + ["O"]):
        tag, typ = split(t)
        end = (prev_tag in "ES") or (prev_tag in "BI" and tag in "BSO") or (prev_tag != "O" and prev_type != typ)
        if start >= 0 and end:
            out.append((start, i, prev_type))
            start = -1
        begin = tag in "BS" or (prev_tag in "ESO" and tag in "EI") or (tag != "O" and prev_type != typ)
        if begin and i < len(tags):
            start = i
        prev_tag, prev_type = tag, typ
    return out


def f1(gold, pred):
    g = p = c = 0
    for gt, pt in zip(gold, pred):
        gc, pc = set(chunks(gt)), set(chunks(pt))
        g += len(gc); p += len(pc); c += len(gc & pc)
    prec = c / p if p else 0
    rec = c / g if g else 0
    return 2 * prec * rec / (prec + rec) if prec + rec else 0


def main(data):
    train = read_conll(os.path.join(data, "train.txt"))
    dev = read_conll(os.path.join(data, "valid.txt"))
    t0 = time.time()
    X = [sent_features(s) for s, _ in train]
    y = [t for _, t in train]
    crf = sklearn_crfsuite.CRF(algorithm="lbfgs", c1=0.1, c2=0.1, max_iterations=100, all_possible_transitions=True)
    crf.fit(X, y)
    train_s = time.time() - t0
    t0 = time.time()
    pred = crf.predict([sent_features(s) for s, _ in dev])
    tag_s = time.time() - t0
    tokens = sum(len(s) for s, _ in dev)
    print(f"result: crfsuite_dev_f1={f1([t for _, t in dev], pred) * 100}")
    print(f"result: crfsuite_train_seconds={train_s}")
    print(f"result: crfsuite_tokens_per_second={tokens / tag_s}")


if __name__ == "__main__":
    main(sys.argv[1])
