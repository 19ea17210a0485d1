"""Serves the nearest-centroid iris model: a stdlib-only example of Trainyard's serving contract.

Trainyard starts this with the model's files in TRAINYARD_MODEL_DIR and a port in PORT, waits for
`GET /ping` to answer 200, then forwards prediction requests to `POST /invocations`:
- JSON: {"instances": [row, ...]} (or a bare list of rows), each row an object by feature name
  ({"sepal_length": 5.1, ...}) or a list in the model's feature order;
- CSV (text/csv): one row per line in feature order, with or without a header line.
It answers {"predictions": [{"label": ..., "distance": ...}, ...]}, one per row, and 400 with
{"error": ...} for input it cannot score. SIGTERM (the default action) stops it.
"""
import csv, io, json, math, os, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL = json.load(open(os.path.join(os.environ["TRAINYARD_MODEL_DIR"], "model.json")))
FEATURES = MODEL["features"]
CENTROIDS = MODEL["centroids"]
MAX_BODY = 16 << 20


class BadInput(Exception):
    pass


def number(value, where):
    if isinstance(value, bool):
        raise BadInput(f"{where}: expected a number, got {json.dumps(value)}")
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise BadInput(f"{where}: expected a number, got {json.dumps(value)}")
    if not math.isfinite(result):
        raise BadInput(f"{where}: expected a finite number, got {value}")
    return result


def vector(row, index):
    if isinstance(row, dict):
        missing = [f for f in FEATURES if f not in row]
        if missing:
            raise BadInput(f"row {index}: missing {', '.join(missing)}")
        return [number(row[f], f"row {index}.{f}") for f in FEATURES]
    if isinstance(row, list):
        if len(row) != len(FEATURES):
            raise BadInput(f"row {index}: expected {len(FEATURES)} values ({', '.join(FEATURES)}), got {len(row)}")
        return [number(v, f"row {index}[{i}]") for i, v in enumerate(row)]
    raise BadInput(f"row {index}: expected an object or a list, got {json.dumps(row)[:50]}")


def predict(vectors):
    out = []
    for v in vectors:
        label = min(CENTROIDS, key=lambda c: math.dist(v, CENTROIDS[c]))
        out.append({"label": label, "distance": round(math.dist(v, CENTROIDS[label]), 6)})
    return out


def rows_from_json(body):
    try:
        document = json.loads(body)
    except ValueError as error:
        raise BadInput(f"the body is not valid JSON: {error}")
    rows = document.get("instances") if isinstance(document, dict) else document
    if not isinstance(rows, list):
        raise BadInput('expected {"instances": [rows]} or a list of rows')
    return [vector(row, i) for i, row in enumerate(rows)]


def rows_from_csv(body):
    lines = [r for r in csv.reader(io.StringIO(body.decode("utf-8", "replace"))) if r]
    if lines and [c.strip() for c in lines[0]] == FEATURES:
        lines = lines[1:]  # a header line
    return [vector([c.strip() for c in row], i) for i, row in enumerate(lines)]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: Trainyard reuses its connections

    def do_GET(self):
        if self.path == "/ping":
            self.reply(200, {"status": "ok"})
        else:
            self.reply(404, {"error": f"no route GET {self.path}"})

    def do_POST(self):
        if self.path != "/invocations":
            self.reply(404, {"error": f"no route POST {self.path}"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.reply(413, {"error": f"the body is larger than {MAX_BODY} bytes"})
            return
        body = self.rfile.read(length)
        kind = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()
        try:
            if kind == "text/csv":
                vectors = rows_from_csv(body)
            elif kind in ("application/json", ""):
                vectors = rows_from_json(body)
            else:
                self.reply(415, {"error": f"unsupported content type {kind}; send application/json or text/csv"})
                return
            self.reply(200, {"predictions": predict(vectors)})
        except BadInput as error:
            self.reply(400, {"error": str(error)})

    def reply(self, status, document):
        data = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        pass  # one line per request would flood the server's log


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
    print(f"serving {len(CENTROIDS)} classes on port {os.environ['PORT']}", file=sys.stderr, flush=True)
    server.serve_forever()
