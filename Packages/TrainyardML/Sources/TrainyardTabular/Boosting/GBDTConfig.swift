/// Hyper-parameters of the gradient-boosted trees (`gbdt`): each declared once below (name,
/// type, default, range, doc), read into typed fields by `init(params:seed:task:)`.
///
/// Defaults chosen on a validation part of diamonds (see benchmarks/tabular/RESULTS.md);
/// LightGBM's names and, unless a doc line says otherwise, its defaults.
struct GBDTConfig: Sendable {
    static let trees = ParameterDeclaration.integer(
        "trees", default: 1000, in: 1...100_000,
        doc: "Most boosting rounds; early stopping on the validation rows usually ends sooner.")
    static let learningRate = ParameterDeclaration.number(
        "learning_rate", default: 0.05, in: 1e-6...1,
        doc: "Shrinkage applied to every tree's output.")
    static let maxLeaves = ParameterDeclaration.integer(
        "max_leaves", default: 32, in: 2...4096,
        doc: "Most leaves per tree (≤ 32 lets the table scorer pack two trees per 64-bit mask: fast prediction).")
    static let minDataInLeaf = ParameterDeclaration.integer(
        "min_data_in_leaf", default: 0, in: 0...1_000_000,
        doc: "Fewest training rows in a leaf; 0 = automatic: rows/20 clamped to 2…20.")
    static let minDataInBin = ParameterDeclaration.integer(
        "min_data_in_bin", default: 3, in: 1...1_000_000,
        doc: "Fewest training rows in a histogram bin of a numeric feature.")
    static let lambdaL2 = ParameterDeclaration.number(
        "lambda_l2", default: 0, in: 0...1e9,
        doc: "L2 penalty on leaf values.")
    static let maxBins = ParameterDeclaration.integer(
        "max_bins", default: 255, in: 3...255,
        doc: "Most histogram bins per feature (plus one for missing values).")
    static let maxDepth = ParameterDeclaration.integer(
        "max_depth", default: 0, in: 0...64,
        doc: "Deepest a tree may grow; 0 = unlimited (max_leaves bounds it).")
    static let baggingFraction = ParameterDeclaration.number(
        "bagging_fraction", default: 1, in: 0.01...1,
        doc: "Fraction of the training rows each tree is grown on (seeded sample; 1 = all).")
    static let featureFraction = ParameterDeclaration.number(
        "feature_fraction", default: 0.8, in: 0.01...1,
        doc: "Fraction of the features each tree may split on (seeded sample).")
    static let featureFractionByNode = ParameterDeclaration.number(
        "feature_fraction_bynode", default: 1, in: 0.01...1,
        doc: "Fraction of the tree's features each node may split on.")
    static let minDataPerGroup = ParameterDeclaration.integer(
        "min_data_per_group", default: 20, in: 1...1_000_000,
        doc: "Fewest rows per category group of a categorical split (LightGBM: 100).")
    static let catSmooth = ParameterDeclaration.number(
        "cat_smooth", default: 10, in: 0...1e9,
        doc: "Smoothing of category statistics when ordering categories for a split.")
    static let catL2 = ParameterDeclaration.number(
        "cat_l2", default: 10, in: 0...1e9,
        doc: "L2 penalty of categorical splits.")
    static let maxCatThreshold = ParameterDeclaration.integer(
        "max_cat_threshold", default: 32, in: 1...255,
        doc: "Most categories on one side of a categorical split.")
    static let maxCatToOnehot = ParameterDeclaration.integer(
        "max_cat_to_onehot", default: 4, in: 1...255,
        doc: "Features with at most this many categories split one category against the rest.")
    static let earlyStoppingRounds = ParameterDeclaration.integer(
        "early_stopping_rounds", default: 50, in: 0...100_000,
        doc: "Stop after this many rounds without a better validation loss; 0 = off.")
    static let refit = ParameterDeclaration.boolean(
        "refit", default: true,
        doc: "After early stopping on a carved-out validation fraction, train again on every row for the chosen rounds.")
    static let linearTree = ParameterDeclaration.boolean(
        "linear_tree", perTask: [TabularTask.regression.rawValue: true, TabularTask.classification.rawValue: false],
        doc: "Leaves fit a ridge regression on the numeric features of their path (on for regression: diamonds RMSE 535.5 → 527.3).")
    static let linearLambda = ParameterDeclaration.number(
        "linear_lambda", default: 0, in: 0...1e9,
        doc: "L2 penalty of the linear leaves' coefficients.")
    static let seed = ParameterDeclaration.seed(in: Int.min...Int.max)

    static let parameters = ParameterSet(algorithm: TabularAlgorithm.gbdt.rawValue, [
        trees, learningRate, maxLeaves, minDataInLeaf, minDataInBin, lambdaL2, maxBins, maxDepth, baggingFraction,
        featureFraction, featureFractionByNode, minDataPerGroup, catSmooth, catL2, maxCatThreshold, maxCatToOnehot,
        earlyStoppingRounds, refit, linearTree, linearLambda, seed,
    ])

    var trees: Int
    var learningRate: Double
    var maxLeaves: Int
    /// 0 = automatic: `GBDTConfig.automaticMinDataInLeaf(rows:)` of the training rows.
    var minDataInLeaf: Int
    var minDataInBin: Int
    var lambdaL2: Double
    var maxBins: Int
    var maxDepth: Int
    var baggingFraction: Double
    var featureFraction: Double
    /// Per-node feature sampling from the tree's features (LightGBM's `feature_fraction_bynode`).
    var featureFractionByNode: Double
    var minDataPerGroup: Int
    var catSmooth: Double
    var catL2: Double
    var maxCatThreshold: Int
    var maxCatToOnehot: Int
    var earlyStoppingRounds: Int
    var refit: Bool
    /// Linear leaves (LightGBM's `linear_tree`), penalised by `linearLambda` (see `LinearLeafFitter`).
    var linearTree: Bool
    var linearLambda: Double
    var seed: UInt64
    /// Every effective value under its public name (`min_data_in_leaf` 0 reads `"auto"`).
    let resolved: [String: ParamValue]

    /// `task` picks task-dependent defaults (`linear_tree`: on for regression).
    init(params: [String: ParamValue], seed defaultSeed: UInt64, task: TabularTask = .regression) throws(ParameterError) {
        let v = try Self.parameters.resolve(params, task: task.rawValue, seed: defaultSeed)
        trees = v.int(Self.trees)
        learningRate = v.double(Self.learningRate)
        maxLeaves = v.int(Self.maxLeaves)
        minDataInLeaf = v.int(Self.minDataInLeaf)
        minDataInBin = v.int(Self.minDataInBin)
        lambdaL2 = v.double(Self.lambdaL2)
        maxBins = v.int(Self.maxBins)
        maxDepth = v.int(Self.maxDepth)
        baggingFraction = v.double(Self.baggingFraction)
        featureFraction = v.double(Self.featureFraction)
        featureFractionByNode = v.double(Self.featureFractionByNode)
        minDataPerGroup = v.int(Self.minDataPerGroup)
        catSmooth = v.double(Self.catSmooth)
        catL2 = v.double(Self.catL2)
        maxCatThreshold = v.int(Self.maxCatThreshold)
        maxCatToOnehot = v.int(Self.maxCatToOnehot)
        earlyStoppingRounds = v.int(Self.earlyStoppingRounds)
        refit = v.bool(Self.refit)
        linearTree = v.bool(Self.linearTree)
        linearLambda = v.double(Self.linearLambda)
        seed = UInt64(bitPattern: Int64(v.int(Self.seed)))
        var resolved = v.values
        if minDataInLeaf == 0 { resolved[Self.minDataInLeaf.name] = .string("auto") }
        self.resolved = resolved
    }

    /// The automatic `min_data_in_leaf` (the default): n/20 rows, clamped to 2…20 — LightGBM's
    /// default of 20 for data of ≥ 400 rows, and for small data sets the scaling LightGBM
    /// users apply by hand (a leaf may hold 5 % of the rows, never fewer than 2), so a tree on
    /// 120 rows can still isolate a small group of rows without splitting off single rows.
    static func automaticMinDataInLeaf(rows n: Int) -> Int {
        min(20, max(2, n / 20))
    }

    /// `min_data_in_leaf` for `rows` training rows: the explicit value, or the automatic one.
    func effectiveMinDataInLeaf(rows n: Int) -> Int {
        minDataInLeaf > 0 ? minDataInLeaf : Self.automaticMinDataInLeaf(rows: n)
    }
}
