import Foundation
import Synchronization
import TrainyardCore

/// Which model answers the routes that name none: `/invocations` and `/ping` (the default
/// model), `POST /predict` (a text classifier) and `POST /ner`.
///
/// `/predict` and `/ner` serve, in order: the model named by `?model=` (a model reference),
/// the configured one (`serving.text_model` / `serving.ner_model`), else, when that setting is
/// left at its built-in name and no such model exists, the only registered model of the task
/// (404 when there is none, 409 naming the candidates when there are several). `/invocations`
/// serves `serving.default_model`, else the only registered model.
///
/// Implicit answers cost a registry listing, so they are remembered for a few seconds.
public final class ServingDefaults: Sendable {
    public enum Route: String, Sendable, CaseIterable {
        case invocations, text, ner

        var task: TaskKind? {
            switch self {
            case .invocations: nil
            case .text: .textClassification
            case .ner: .ner
            }
        }

        /// The setting naming the route's model, for messages.
        var setting: String {
            switch self {
            case .invocations: "serving.default_model (TRAINYARD_SERVING_DEFAULT_MODEL)"
            case .text: "serving.text_model (TRAINYARD_SERVING_TEXT_MODEL)"
            case .ner: "serving.ner_model (TRAINYARD_SERVING_NER_MODEL)"
            }
        }
    }

    let store: any MetadataStore
    let options: ServingOptions
    private let remembered = Mutex<[Route: (reference: ModelReference, at: ContinuousClock.Instant)]>([:])
    static let rememberFor: Duration = .seconds(5)

    public init(store: any MetadataStore, options: ServingOptions) {
        self.store = store
        self.options = options
    }

    /// The model `route` serves; `requested` is the request's `?model=`.
    ///
    /// - Throws: `.invalidArgument` for a malformed reference, `.notFound` when no model fits,
    ///   `.conflict` when several text or NER models could and none is configured.
    public func reference(for route: Route, requested: String? = nil) async throws -> ModelReference {
        if let requested { return try ModelReference(parsing: requested) }
        if let cached = remembered.withLock({ $0[route] }), ContinuousClock.now - cached.at < Self.rememberFor { return cached.reference }
        let reference = try await resolve(route)
        remembered.withLock { $0[route] = (reference, ContinuousClock.now) }
        return reference
    }

    private func resolve(_ route: Route) async throws -> ModelReference {
        let builtIn = ServingOptions()
        switch route {
        case .invocations:
            if let configured = options.defaultModel { return try ModelReference(parsing: configured) }
            let models = try await store.models()
            guard models.count == 1 else {
                throw TrainyardError(.notFound, models.isEmpty
                    ? "no model is registered yet, so /invocations has nothing to serve"
                    : "several models are registered (\(Self.names(models.map(\.name)))); set \(route.setting) to the one /invocations serves")
            }
            return ModelReference(name: models[0].name)
        case .text, .ner:
            let configured = route == .text ? options.textModel : options.nerModel
            let reference = try ModelReference(parsing: configured)
            // A name the operator chose is served as given (a 404 names it if it does not exist).
            if configured != (route == .text ? builtIn.textModel : builtIn.nerModel) { return reference }
            do {
                _ = try await store.resolve(reference)
                return reference
            } catch let error as TrainyardError where error.code == .notFound {}
            let task = route.task!
            let candidates = try await models(of: task)
            guard candidates.count == 1 else {
                let path = route == .text ? "/predict" : "/ner"
                if candidates.isEmpty {
                    throw TrainyardError(.notFound, "no \(task.rawValue) model is registered for \(path) (and none is named \"\(configured)\", the default of \(route.setting)); train one, or name one with ?model=")
                }
                throw TrainyardError(.conflict, "several \(task.rawValue) models are registered (\(Self.names(candidates))); name the one \(path) serves with ?model= or set \(route.setting)")
            }
            return ModelReference(name: candidates[0])
        }
    }

    /// Registered models whose served version (alias `production`, else the latest) is a `task`
    /// model. The models table keeps the task of the spec that last trained the model, so only
    /// models it marks as `task` (or as `command`, or not at all) are read, and each is confirmed
    /// by its version's manifest, which is what serving loads.
    private func models(of task: TaskKind) async throws -> [ModelName] {
        var found: [ModelName] = []
        for model in try await store.models() where model.latestVersion != nil && (model.task == task || model.task == .command || model.task == nil) {
            guard let version = try? await store.resolve(ModelReference(name: model.name)), version.manifest.task == task else { continue }
            found.append(model.name)
        }
        return found
    }

    static func names(_ names: [ModelName]) -> String {
        let sorted = names.map(\.rawValue).sorted()
        return sorted.prefix(10).joined(separator: ", ") + (sorted.count > 10 ? ", … (\(sorted.count) in all)" : "")
    }
}

extension ModelServer {
    /// Starts loading the models the routes without a model name serve (`/invocations`,
    /// `/predict`, `/ner`) unless they are loaded, so probes answer 200 before any request
    /// arrives. Called at start and on every alias poll (a model trained later is picked up
    /// within one poll); a route with no model is skipped quietly, and a model whose load
    /// failed waits for its back-off (`load`).
    func keepDefaultsLoaded() async {
        for route in ServingDefaults.Route.allCases {
            guard let reference = try? await defaults.reference(for: route) else { continue }
            if !isLoaded(reference) { prefetch(reference) }
        }
    }
}
