/// The data-sized arrays of a tabular run, estimated from the schema, the row counts and the
/// parameters before anything is encoded, so that data which would need more memory than
/// `limits.train_memory_bytes` fails with a reason instead of aborting the process.
///
/// Estimates are upper bounds of the big arrays (small per-column or per-tree state is left
/// out): rows × classes scores and gradients, rows × features bins, leaves × bins histograms
/// and the worst-case forest for gbdt; dense inputs (rows × one-hot width), weights and Adam
/// state for mlp; the normal equations (width²) or the L-BFGS history (width × classes) for
/// linear. Every product is overflow-checked (`MemoryPlan`).
extension TabularLearning {
    static func memoryPlan(_ config: Config, schema: TabularSchema, trainRows n: Int, validationRows nv: Int) -> MemoryPlan {
        let f = schema.features.count
        let classes = schema.task == .classification ? max(schema.classes?.count ?? 2, 2) : 1
        let rows = n + nv
        // One-hot width of the dense inputs of mlp and linear: one column per numeric feature,
        // one per known category (a sum of array counts: it cannot overflow).
        let width = schema.features.reduce(0) { $0 + ($1.kind == .categorical ? max($1.categories?.count ?? 1, 1) : 1) }
        var plan = MemoryPlan(config.name)
        // Encoded rows, and one copy while validation rows are carved out or concatenated.
        plan.add("encoded rows (\(rows) rows × \(f) features)", rows, f, 8, 2)
        plan.add("predictions (\(rows) rows × \(classes) classes)", rows, classes, 8)
        switch config {
        case .gbdt(let c):
            let scores = classes == 2 ? 1 : classes
            plan.add("scores, gradients and hessians (\(n) rows × \(scores) scores)", n, scores, 16)
            plan.add("validation scores (\(nv) rows × \(scores) scores)", nv, scores, 8)
            plan.add("binned rows (\(n) rows × \(f) features)", n, f, 3)
            plan.add("histograms (\(c.maxLeaves) leaves × \(f) features × \(c.maxBins + 1) bins)", c.maxLeaves + 3, f, c.maxBins + 1, 16)
            if c.linearTree { plan.add("raw values for linear leaves (\(n) rows × \(f) features)", n, f, 16) }
            plan.add("trees (\(c.trees) rounds × \(scores) scores × \(c.maxLeaves) leaves)", c.trees, scores, c.maxLeaves, 64)
        case .mlp(let c):
            let sizes = [width] + c.hiddenLayers + [classes]
            let parameters = MemoryPlan.sum((0..<(sizes.count - 1)).map { l in
                MemoryPlan.sum([MemoryPlan.product([sizes[l], sizes[l + 1]]), sizes[l + 1]])
            })
            plan.add("dense inputs (\(rows) rows × \(width) inputs)", rows, width, 4)
            // Parameters, Adam's two moments, the best and averaged copies, one gradient per worker.
            plan.add("weights and optimizer state (\(parameters.map(String.init) ?? "too many") parameters)",
                     bytes: parameters.flatMap { MemoryPlan.product([$0, 5 + Parallel.workers, 4]) })
            plan.add("batch inputs (\(c.batchSize) rows × \(width) inputs)", c.batchSize, width, 4)
        case .linear:
            plan.add("dense inputs (\(rows) rows × \(width) inputs)", rows, width, 4)
            let p = width + 1
            if schema.task == .regression {
                // XᵀX, its penalised copy and the Cholesky factor.
                plan.add("normal equations (\(p) × \(p) inputs)", p, p, 8, 3)
            } else {
                // Weights, gradient, line-search copies and ten L-BFGS pairs.
                plan.add("weights and L-BFGS history (\(p) inputs × \(classes) classes)", p, classes, 8, 26)
            }
        }
        return plan
    }

    /// What to change when `config`'s run does not fit.
    static func memoryAdvice(_ config: Config) -> String {
        switch config {
        case .gbdt: return "use fewer classes or feature columns, or lower model.params.max_leaves, max_bins or trees"
        case .mlp: return "use fewer feature columns or categories, or smaller model.params.hidden_layers"
        case .linear: return "use fewer feature columns or categories (each category is one input of a linear model) or fewer classes"
        }
    }
}

extension TabularLearning.Config {
    var name: String { algorithm.rawValue }

    var algorithm: TabularAlgorithm {
        switch self {
        case .gbdt: return .gbdt
        case .mlp: return .mlp
        case .linear: return .linear
        }
    }
}
