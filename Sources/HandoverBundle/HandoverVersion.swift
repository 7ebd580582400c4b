/// Handover's own version.
public enum HandoverVersion {
    /// The version of this build.
    public static let current = "0.1.0"
}
