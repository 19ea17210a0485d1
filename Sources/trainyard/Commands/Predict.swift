import ArgumentParser
import Foundation
import TrainyardApp
import TrainyardCore
import TrainyardRuntime
import TrainyardServing

struct Predict: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Predict with a model: TEXT (a sentence for text models, a JSON record for tabular ones) or --file (CSV, JSON, JSONL, text lines).",
        discussion: """
            Locally the model is loaded in this process from the store; with --server/TRAINYARD_URL the request goes to \
            POST /api/v1/models/{name}/predict.
              trainyard predict sentiment "a wonderful film"
              trainyard predict diamonds-price '{"carat": 0.5, "cut": "Ideal", "color": "E", "clarity": "VS1", "depth": 61.5, "table": 55, "x": 5.1, "y": 5.1, "z": 3.1}'
              trainyard predict diamonds-price@production --file rows.csv --json
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Model reference: NAME, NAME@ALIAS or NAME:VERSION.")
    var reference: String

    @Argument(help: "One input: text for text/NER models, a JSON object (or array of objects) for tabular models.")
    var input: String?

    @Option(help: "Inputs from a file: .csv (header + rows), .json ({\"inputs\": […]} or an array), .jsonl (one row per line), else one text per line.")
    var file: String?

    func validate() throws {
        if input == nil && file == nil { throw ValidationError("give an input (TEXT) or --file F") }
        if input != nil && file != nil { throw ValidationError("give either an input (TEXT) or --file F, not both") }
    }

    func run() async throws {
        let ref = try ModelReference(parsing: reference)
        let rows = try readRows()
        guard !rows.isEmpty else { throw TrainyardError(.invalidInput, "no inputs to predict") }
        let configuration = try await global.loadConfiguration()
        let model: String, version: Int, predictions: [JSONValue]
        if let url = configuration.serverURL {
            let remote = try RemoteControlPlane(baseURL: url, token: global.token ?? ProcessInfo.processInfo.environment["TRAINYARD_TOKEN"])
            var query: [URLQueryItem] = []
            switch ref.selector {
            case .version(let v): query.append(URLQueryItem(name: "version", value: String(v)))
            case .alias(let a): query.append(URLQueryItem(name: "alias", value: a.rawValue))
            case .default: break
            }
            let data = try await remote.request("POST", "api/v1/models/\(ref.name)/predict", query: query,
                                                body: Data(FastJSON.serialize(.object(["inputs": .array(rows)]))))
            let answer = try FastJSON.parse(data)
            guard case .array(let p)? = answer["predictions"] else { throw TrainyardError(.internal, "the server answered without predictions") }
            model = answer["model"]?.stringValue ?? ref.name.rawValue
            version = answer["version"].flatMap { if case .int(let v) = $0 { return v } else { return nil } } ?? 0
            predictions = p
        } else {
            let server = try await makeApp(configuration).modelServer()
            do {
                let served = try await server.model(for: ref)
                predictions = try await served.predict(rows)
                model = served.name.rawValue
                version = served.number
                await server.shutdown()
            } catch {
                await server.shutdown()
                throw error
            }
        }
        if global.json {
            print(String(decoding: FastJSON.serialize(.object(["model": .string(model), "version": .int(version), "predictions": .array(predictions)])),
                         as: UTF8.self))
            return
        }
        print("\(model):\(version)")
        for (row, prediction) in zip(rows, predictions) {
            let shown: String
            switch prediction {
            case .object(let o) where o["prediction"] != nil: shown = o["prediction"]!.description
            case .object(let o) where o["label"] != nil:
                let p = o["score"] ?? o["probabilities"]?[o["label"]!.stringValue ?? ""]
                shown = "\(o["label"]!.stringValue ?? "")" + (p?.doubleValue.map { String(format: " (%.3f)", $0) } ?? "")
            case .array(let entities):
                shown = entities.isEmpty ? "(no entities)" : entities.map { e in
                    "\(e["text"]?.stringValue ?? "")/\(e["tag"]?.stringValue ?? "")"
                }.joined(separator: "  ")
            default: shown = String(decoding: FastJSON.serialize(prediction), as: UTF8.self)
            }
            let input: String
            if case .string(let s) = row { input = s.count > 60 ? String(s.prefix(57)) + "..." : s } else {
                let s = String(decoding: FastJSON.serialize(row), as: UTF8.self)
                input = s.count > 60 ? String(s.prefix(57)) + "..." : s
            }
            print("\(input)\t→ \(shown)")
        }
    }

    func readRows() throws -> [JSONValue] {
        if let input {
            let trimmed = input.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("{") || trimmed.hasPrefix("[") {
                let value = try FastJSON.parse(Array(trimmed.utf8))
                if case .array(let rows) = value { return rows }
                if case .object(let o) = value, o["inputs"] != nil || o["instances"] != nil { return try Payloads.nativeRows(value) }
                return [value]
            }
            return [.string(input)]
        }
        let path = file!
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TrainyardError(.invalidArgument, "--file \(path): file does not exist or is not readable")
        }
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "csv": return try Payloads.csvRows(data)
        case "json":
            let value = try FastJSON.parse(data)
            if case .array(let rows) = value { return rows }
            return try Payloads.nativeRows(value)
        case "jsonl", "ndjson":
            return try String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).map { line throws(TrainyardError) in
                try FastJSON.parse(Array(line.utf8))
            }
        default:
            return String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).map { .string(String($0)) }
        }
    }
}
