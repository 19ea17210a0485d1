/// The release this binary was built from (`trainyard --version`, the `Server` header, the
/// OpenAPI document). Bumped by hand at each release.
public enum TrainyardVersion {
    public static let current = "0.3.0"
}
